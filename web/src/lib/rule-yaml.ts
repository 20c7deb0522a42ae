import { stringify } from 'yaml';

const DURATION_KEYS = new Set(['duration', 'timeout', 'for']);

/** 120000 → "2m": stored rules keep milliseconds, people read minutes. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function readable(value: unknown, key?: string): unknown {
  if (typeof value === 'number' && key !== undefined && DURATION_KEYS.has(key)) return formatDuration(value);
  if (Array.isArray(value)) return value.map((item) => readable(item));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, readable(v, k)]));
  return value;
}

/** A stored rule as the YAML a person would write, without the defaults' noise. */
export function ruleToYaml(definition: Record<string, unknown>): string {
  const { version, id, name, description, enabled, mode, max, triggers, conditions, actions } = definition;
  const ordered = {
    version,
    id,
    name,
    ...(description === undefined ? {} : { description }),
    ...(enabled === false ? { enabled } : {}),
    mode,
    ...(mode === 'queued' || mode === 'parallel' ? { max } : {}),
    triggers,
    ...(Array.isArray(conditions) && conditions.length > 0 ? { conditions } : {}),
    actions,
  };
  return stringify(readable(ordered), { lineWidth: 0 });
}

/** What "New rule" starts from: the shape of the shipped garage example. */
export const NEW_RULE_YAML = `name: When the car arrives, open the gate
mode: restart
triggers:
  - type: state
    entity: gate-1.occupancy
    to: true
conditions:
  - type: state
    entity: gate-1.door
    state: closed
actions:
  - type: command
    entity: gate-1.door
    command: open
  - type: delay
    duration: 2m
  - type: if
    condition:
      type: and
      conditions:
        - { type: state, entity: gate-1.door, state: open }
        - { type: state, entity: gate-1.motion, state: false }
    then:
      - { type: command, entity: gate-1.door, command: close }
`;

/** A one-line summary of a trigger for the rules list. */
export function describeTrigger(trigger: Record<string, unknown>): string {
  const text = (key: string): string => {
    const value = trigger[key];
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  };
  switch (trigger['type']) {
    case 'state':
      return `${text('entity')} changes${trigger['to'] === undefined ? '' : ` to ${text('to')}`}${trigger['for'] === undefined ? '' : ` for ${formatDuration(Number(trigger['for']))}`}`;
    case 'numeric':
      return `${text('entity')}${trigger['above'] === undefined ? '' : ` above ${text('above')}`}${trigger['below'] === undefined ? '' : ` below ${text('below')}`}`;
    case 'mqtt':
      return `MQTT ${text('topic')}`;
    case 'coap':
      return `CoAP /hooks/${text('path')}`;
    case 'device':
      return `${text('device')} goes ${text('to')}`;
    case 'time':
      return `at ${text('at')}`;
    case 'cron':
      return `cron ${text('expression')}`;
    case 'sun':
      return `${text('event')}`;
    default:
      return text('type');
  }
}
