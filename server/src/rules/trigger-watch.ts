import type { StateValue } from '@ninho/plugin-sdk';
import { inRange, stateMatches } from './conditions';
import type { TriggerEvent } from './rule-run';
import type { Trigger } from './rule.schema';

export type EntityTrigger = Extract<Trigger, { type: 'state' | 'numeric' }>;
export type DeviceTrigger = Extract<Trigger, { type: 'device' }>;

/** What a watched change means for its trigger. */
export type Verdict =
  /** Fire now (no `for:`), or start the `for:` wait. */
  | { kind: 'match'; event: TriggerEvent }
  /** The condition no longer holds: a running `for:` wait ends unfired. */
  | { kind: 'unmatch' }
  /** Nothing changes for this trigger. */
  | { kind: 'none' };

const NONE: Verdict = { kind: 'none' };

function show(value: StateValue | undefined): string {
  return JSON.stringify(value ?? null);
}

/**
 * Per-trigger memory of a numeric threshold: once fired it stays quiet until the value has
 * come back past the threshold by the hysteresis, so a value dithering at 25.0 fires once.
 */
export class NumericArming {
  private readonly armed = new Map<string, boolean>();

  isArmed(key: string): boolean {
    return this.armed.get(key) ?? true;
  }

  set(key: string, armed: boolean): void {
    this.armed.set(key, armed);
  }

  forget(prefix: string): void {
    for (const key of this.armed.keys()) if (key.startsWith(prefix)) this.armed.delete(key);
  }
}

/** Judges an entity's state change against a state or numeric trigger. Pure but for `arming`. */
export function judgeEntityChange(
  trigger: EntityTrigger,
  index: number,
  previous: StateValue | undefined,
  next: StateValue,
  at: number,
  arming: NumericArming,
  armingKey: string,
): Verdict {
  if (trigger.type === 'state') {
    if (previous === next) return NONE;
    const toOk = trigger.to === undefined || stateMatches(next, trigger.to);
    const fromOk = trigger.from === undefined || stateMatches(previous, trigger.from);
    if (toOk && fromOk) {
      const event: TriggerEvent = {
        index,
        type: 'state',
        at,
        entity: trigger.entity,
        from: previous ?? null,
        to: next,
        description: `${trigger.entity} changed from ${show(previous)} to ${show(next)}`,
      };
      return { kind: 'match', event };
    }
    return toOk ? NONE : { kind: 'unmatch' };
  }
  if (typeof next !== 'number') return NONE;
  const inside = inRange(next, trigger.above, trigger.below);
  if (inside) {
    if (!arming.isArmed(armingKey)) return NONE;
    arming.set(armingKey, false);
    const bounds = [
      trigger.above === undefined ? '' : `above ${trigger.above}`,
      trigger.below === undefined ? '' : `below ${trigger.below}`,
    ]
      .filter(Boolean)
      .join(' and ');
    return {
      kind: 'match',
      event: {
        index,
        type: 'numeric',
        at,
        entity: trigger.entity,
        from: previous ?? null,
        to: next,
        description: `${trigger.entity} is ${next}, ${bounds}`,
      },
    };
  }
  const h = trigger.hysteresis;
  const clear = (trigger.above !== undefined && next <= trigger.above - h) || (trigger.below !== undefined && next >= trigger.below + h);
  if (clear) arming.set(armingKey, true);
  return { kind: 'unmatch' };
}

export function judgeAvailability(trigger: DeviceTrigger, index: number, online: boolean, at: number): Verdict {
  const is = online ? 'online' : 'offline';
  if (is !== trigger.to) return { kind: 'unmatch' };
  return {
    kind: 'match',
    event: { index, type: 'device', at, device: trigger.device, to: is, description: `${trigger.device} went ${is}` },
  };
}

/** True while the trigger's condition still holds for the state as it is now (for `for:` after a restart). */
export function stillHolds(trigger: Trigger, state: StateValue | undefined, online: boolean | undefined): boolean {
  switch (trigger.type) {
    case 'state':
      return trigger.to === undefined || stateMatches(state, trigger.to);
    case 'numeric':
      return typeof state === 'number' && inRange(state, trigger.above, trigger.below);
    case 'device':
      return online !== undefined && (online ? 'online' : 'offline') === trigger.to;
    case 'mqtt':
    case 'coap':
    case 'time':
    case 'cron':
    case 'sun':
      return false;
  }
}
