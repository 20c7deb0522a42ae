import { describe, expect, it } from 'vitest';
import { RuleSchema, slugify } from '../../server/src/rules/rule.schema';

const gateRule = {
  name: 'When the car arrives, open the gate',
  mode: 'restart',
  triggers: [{ type: 'state', entity: 'gate-1.occupancy', to: true }],
  conditions: [{ type: 'state', entity: 'gate-1.door', state: 'closed' }],
  actions: [
    { type: 'command', entity: 'gate-1.door', command: 'open' },
    { type: 'delay', duration: '2m' },
    {
      type: 'if',
      condition: {
        type: 'and',
        conditions: [
          { type: 'state', entity: 'gate-1.door', state: 'open' },
          { type: 'state', entity: 'gate-1.motion', state: false },
        ],
      },
      then: [{ type: 'command', entity: 'gate-1.door', command: 'close' }],
    },
  ],
};

function issuePaths(input: unknown): string[] {
  const result = RuleSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
}

describe('the rule model', () => {
  it('reads the gate rule with defaults filled in and durations in ms', () => {
    const rule = RuleSchema.parse(gateRule);
    expect(rule).toMatchObject({ version: 1, enabled: true, mode: 'restart', max: 10 });
    expect(rule.actions[1]).toEqual({ type: 'delay', duration: 120_000 });
    expect(rule.actions[2]).toMatchObject({ type: 'if', else: [] });
  });

  it.each([
    ['1h 30m', 5_400_000],
    ['90s', 90_000],
    ['500ms', 500],
    [250, 250],
  ])('reads the duration %s', (duration, ms) => {
    const rule = RuleSchema.parse({ ...gateRule, actions: [{ type: 'delay', duration }] });
    expect(rule.actions[0]).toEqual({ type: 'delay', duration: ms });
  });

  it('reports every error with its path, nested ones included', () => {
    expect(
      issuePaths({
        name: '',
        mode: 'sometimes',
        triggers: [{ type: 'numeric', entity: 'gate-1.distance' }, { type: 'cron', expression: 'at seven' }, { type: 'tide' }],
        conditions: [{ type: 'not', condition: { type: 'time', after: '25:00' } }],
        actions: [{ type: 'if', condition: { type: 'state', entity: 'nodot', state: 1 }, then: [{ type: 'delay', duration: 'soon' }] }],
      }),
    ).toEqual([
      'name',
      'mode',
      'triggers.0',
      'triggers.1.expression',
      'triggers.2.type',
      'conditions.0.condition.after',
      'actions.0.condition.entity',
      'actions.0.then.0.duration',
    ]);
  });

  it('refuses unknown fields and versions it does not know', () => {
    expect(issuePaths({ ...gateRule, colour: 'red' })).toEqual(['']);
    expect(issuePaths({ ...gateRule, version: 2 })).toEqual(['version']);
    expect(issuePaths({ ...gateRule, actions: [{ type: 'publish', topic: 'a/+/b' }] })).toEqual(['actions.0.topic']);
  });

  it('reads sun offsets before and after the event', () => {
    const rule = RuleSchema.parse({ ...gateRule, triggers: [{ type: 'sun', event: 'sunset', offset: '-30m' }] });
    expect(rule.triggers[0]).toEqual({ type: 'sun', event: 'sunset', offset: -1_800_000 });
  });

  it('makes ids from names', () => {
    expect(slugify('When the car arrives, open the gate!')).toBe('when-the-car-arrives-open-the-gate');
    expect(slugify('Ação às 7h')).toBe('acao-as-7h');
    expect(slugify('!!!')).toBe('rule');
  });
});
