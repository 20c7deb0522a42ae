import { describe, expect, it } from 'vitest';
import { evaluate, type ConditionContext, type ConditionResult } from '../../server/src/rules/conditions';
import { nextOccurrence } from '../../server/src/rules/schedule';
import { judgeEntityChange, NumericArming } from '../../server/src/rules/trigger-watch';

function at(local: string): Date {
  return new Date(local); // "2026-11-23T23:30:00" is read as local time
}

function context(now: Date, states: Record<string, string | number | boolean> = {}): ConditionContext {
  return { now, state: (id) => states[id], online: (id) => (id === 'up' ? true : id === 'down' ? false : undefined) };
}

function check(condition: Parameters<typeof evaluate>[0], ctx: ConditionContext): { passed: boolean; results: ConditionResult[] } {
  const results: ConditionResult[] = [];
  return { passed: evaluate(condition, ctx, 'conditions.0', results), results };
}

describe('rule conditions', () => {
  it('reads a time window that crosses midnight', () => {
    const night = { type: 'time', after: '22:00', before: '06:00' } as const;
    expect(check(night, context(at('2026-11-23T23:30:00'))).passed).toBe(true);
    expect(check(night, context(at('2026-11-24T05:59:59'))).passed).toBe(true);
    expect(check(night, context(at('2026-11-24T06:00:00'))).passed).toBe(false);
    expect(check(night, context(at('2026-11-24T12:00:00'))).passed).toBe(false);
  });

  it('checks weekdays (2026-11-23 is a Monday)', () => {
    expect(check({ type: 'time', weekdays: ['mon', 'tue'] }, context(at('2026-11-23T08:00:00'))).passed).toBe(true);
    expect(check({ type: 'time', weekdays: ['sat', 'sun'] }, context(at('2026-11-23T08:00:00'))).passed).toBe(false);
  });

  it('evaluates every branch of and/or/not so that the run log shows all of them', () => {
    const ctx = context(at('2026-11-23T08:00:00'), { 'gate.door': 'open', 'gate.motion': false, 'hall.temperature': 21.5 });
    const { passed, results } = check(
      {
        type: 'or',
        conditions: [
          { type: 'state', entity: 'gate.door', state: ['closed', 'closing'] },
          { type: 'not', condition: { type: 'numeric', entity: 'hall.temperature', above: 25 } },
          { type: 'device', device: 'down', is: 'offline' },
        ],
      },
      ctx,
    );
    expect(passed).toBe(true);
    expect(results.map((r) => `${r.path} ${r.passed}`)).toEqual([
      'conditions.0.conditions.0 false',
      'conditions.0.conditions.1.condition false',
      'conditions.0.conditions.1 true',
      'conditions.0.conditions.2 true',
      'conditions.0 true',
    ]);
  });

  it('treats an unknown state as not matching', () => {
    expect(check({ type: 'numeric', entity: 'nowhere.t', below: 100 }, context(new Date())).passed).toBe(false);
    expect(check({ type: 'device', device: 'unknown', is: 'offline' }, context(new Date())).passed).toBe(false);
  });
});

describe('numeric triggers', () => {
  it('fires once per crossing and re-arms only past the hysteresis', () => {
    const arming = new NumericArming();
    const trigger = { type: 'numeric', entity: 'x.t', below: 10, hysteresis: 2 } as const;
    const kinds = [12, 9, 8, 11, 9, 12.5, 9].map((value, i, all) => judgeEntityChange(trigger, 0, all[i - 1], value, i, arming, 'k').kind);
    expect(kinds).toEqual(['unmatch', 'match', 'none', 'unmatch', 'none', 'unmatch', 'match']);
  });
});

describe('schedules', () => {
  it('finds the next time of day and cron occurrence', () => {
    const from = at('2026-11-23T07:45:00').getTime();
    expect(new Date(nextOccurrence({ type: 'time', at: '07:30' }, from, undefined) ?? 0)).toEqual(at('2026-11-24T07:30:00'));
    expect(new Date(nextOccurrence({ type: 'time', at: '08:00:30' }, from, undefined) ?? 0)).toEqual(at('2026-11-23T08:00:30'));
    // Weekdays at 07:00: from Friday evening the next one is Monday.
    const friday = at('2026-11-27T19:00:00').getTime();
    expect(new Date(nextOccurrence({ type: 'cron', expression: '0 7 * * 1-5' }, friday, undefined) ?? 0)).toEqual(
      at('2026-11-30T07:00:00'),
    );
  });

  it('finds the next sunset with its offset, and none without a location', () => {
    const lisbon = { latitude: 38.72, longitude: -9.14 };
    const noonUtc = Date.UTC(2026, 5, 21, 12, 0, 0);
    const sunset = nextOccurrence({ type: 'sun', event: 'sunset', offset: 0 }, noonUtc, lisbon) ?? 0;
    // Midsummer in Lisbon: sunset about 20:05 UTC.
    expect(new Date(sunset).getUTCHours()).toBe(20);
    expect(nextOccurrence({ type: 'sun', event: 'sunset', offset: -3_600_000 }, noonUtc, lisbon)).toBe(sunset - 3_600_000);
    expect(nextOccurrence({ type: 'sun', event: 'sunset', offset: 0 }, noonUtc, undefined)).toBeUndefined();
    // Just after today's sunset: tomorrow's.
    const tomorrow = nextOccurrence({ type: 'sun', event: 'sunset', offset: 0 }, sunset + 1000, lisbon) ?? 0;
    expect(tomorrow - sunset).toBeGreaterThan(23 * 3_600_000);
    expect(tomorrow - sunset).toBeLessThan(25 * 3_600_000);
  });
});
