import type { StateValue } from '@ninho/plugin-sdk';
import type { Condition } from './rule.schema';

/** What conditions read: entity states and device availability as they are now, and the time. */
export interface ConditionContext {
  state(entityId: string): StateValue | undefined;
  online(deviceId: string): boolean | undefined;
  now: Date;
}

export interface ConditionResult {
  path: string;
  type: Condition['type'];
  passed: boolean;
  /** What was compared, for the run log: "gate-1.door is open". */
  detail: string;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

export function stateMatches(state: StateValue | undefined, match: StateValue | StateValue[]): boolean {
  if (state === undefined) return false;
  return Array.isArray(match) ? match.some((m) => m === state) : match === state;
}

export function inRange(value: number, above: number | undefined, below: number | undefined): boolean {
  return (above === undefined || value > above) && (below === undefined || value < below);
}

/** Seconds since local midnight of "07:30" or "07:30:15". */
function secondsOf(time: string): number {
  const [h = 0, m = 0, s = 0] = time.split(':').map(Number);
  return h * 3600 + m * 60 + s;
}

function timeWindow(now: Date, after: string | undefined, before: string | undefined): boolean {
  const seconds = now.getHours() * 3600 + now.getMinutes() * 60 + now.getSeconds();
  const from = after === undefined ? 0 : secondsOf(after);
  const to = before === undefined ? 86_400 : secondsOf(before);
  // A window that crosses midnight (after 22:00, before 06:00) is the two ends of the day.
  return from <= to ? seconds >= from && seconds < to : seconds >= from || seconds < to;
}

/** Evaluates one condition, recording it and every nested one in `results`. */
export function evaluate(condition: Condition, context: ConditionContext, path: string, results: ConditionResult[]): boolean {
  const record = (passed: boolean, detail: string): boolean => {
    results.push({ path, type: condition.type, passed, detail });
    return passed;
  };
  switch (condition.type) {
    case 'state': {
      const state = context.state(condition.entity);
      return record(stateMatches(state, condition.state), `${condition.entity} is ${JSON.stringify(state ?? null)}`);
    }
    case 'numeric': {
      const state = context.state(condition.entity);
      const passed = typeof state === 'number' && inRange(state, condition.above, condition.below);
      return record(passed, `${condition.entity} is ${JSON.stringify(state ?? null)}`);
    }
    case 'time': {
      const { now } = context;
      const day = WEEKDAYS[now.getDay()] ?? 'sun';
      const passed = timeWindow(now, condition.after, condition.before) && (condition.weekdays?.includes(day) ?? true);
      return record(passed, `it is ${day} ${now.toTimeString().slice(0, 8)}`);
    }
    case 'device': {
      const online = context.online(condition.device);
      const is = online === undefined ? 'unknown' : online ? 'online' : 'offline';
      return record(is === condition.is, `${condition.device} is ${is}`);
    }
    case 'and':
    case 'or': {
      // Every branch is evaluated so that the run log shows all of them, not only the first to decide.
      const outcomes = condition.conditions.map((c, i) => evaluate(c, context, `${path}.conditions.${i}`, results));
      const passed = condition.type === 'and' ? outcomes.every(Boolean) : outcomes.some(Boolean);
      return record(passed, `${outcomes.filter(Boolean).length} of ${outcomes.length} passed`);
    }
    case 'not': {
      const inner = evaluate(condition.condition, context, `${path}.condition`, results);
      return record(!inner, inner ? 'the condition passed' : 'the condition failed');
    }
  }
}
