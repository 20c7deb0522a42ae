import type { StateValue } from '@ninho/plugin-sdk';

/** Reads a state out of an MQTT payload; undefined when the payload does not fit. */
export type ValueReader = (payload: string) => StateValue | undefined;

/**
 * Home Assistant's value_template, for the plain JSON paths devices use in practice:
 * `{{ value }}`, `{{ value_json.a.b }}`, `{{ value_json['a'][0] }}`, optionally piped
 * through `float`, `int`, `round(n)`, `lower` or `upper`. Anything else (Jinja logic)
 * is refused at discovery time with a message, rather than misread later.
 */
export function compileValueTemplate(template: string | undefined): ValueReader {
  if (template === undefined) return (payload) => payload;
  const body = /^\s*\{\{\s*(.+?)\s*\}\}\s*$/s.exec(template)?.[1];
  if (body === undefined) throw new Error(`unsupported value_template ${JSON.stringify(template)}: expected {{ … }}`);
  const [expression = '', ...filters] = body.split('|').map((part) => part.trim());
  const read = compilePath(expression, template);
  const apply = filters.map((filter) => compileFilter(filter, template));
  return (payload) => {
    let value = read(payload);
    for (const f of apply) {
      if (value === undefined) return undefined;
      value = f(value);
    }
    return value;
  };
}

function compilePath(expression: string, template: string): ValueReader {
  if (expression === 'value') return (payload) => payload;
  if (!expression.startsWith('value_json'))
    throw new Error(`unsupported value_template ${JSON.stringify(template)}: expected value or value_json`);
  const keys: Array<string | number> = [];
  const step = /^(?:\.([A-Za-z_][\w-]*)|\[\s*(?:'([^']*)'|"([^"]*)"|(\d+))\s*\])/;
  let rest = expression.slice('value_json'.length);
  while (rest.length > 0) {
    const match = step.exec(rest);
    if (!match) throw new Error(`unsupported value_template ${JSON.stringify(template)}: cannot read the path at ${JSON.stringify(rest)}`);
    const [whole, dotted, single, double, index] = match;
    keys.push(index !== undefined ? Number(index) : (dotted ?? single ?? double ?? ''));
    rest = rest.slice(whole.length);
  }
  return (payload) => {
    let node: unknown;
    try {
      node = JSON.parse(payload);
    } catch {
      return undefined;
    }
    for (const key of keys) {
      if (node === null || typeof node !== 'object') return undefined;
      node = (node as Record<string | number, unknown>)[key];
    }
    return typeof node === 'number' || typeof node === 'string' || typeof node === 'boolean' ? node : node === null ? null : undefined;
  };
}

function compileFilter(filter: string, template: string): (value: StateValue) => StateValue | undefined {
  const toNumber = (value: StateValue): number | undefined => {
    const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    return Number.isFinite(n) ? n : undefined;
  };
  if (filter === 'float') return toNumber;
  if (filter === 'int') return (value) => (toNumber(value) === undefined ? undefined : Math.trunc(toNumber(value) ?? 0));
  if (filter === 'lower') return (value) => String(value).toLowerCase();
  if (filter === 'upper') return (value) => String(value).toUpperCase();
  const round = /^round(?:\(\s*(\d+)\s*\))?$/.exec(filter);
  if (round) {
    const factor = 10 ** Number(round[1] ?? 0);
    return (value) => {
      const n = toNumber(value);
      return n === undefined ? undefined : Math.round(n * factor) / factor;
    };
  }
  throw new Error(`unsupported value_template ${JSON.stringify(template)}: unknown filter ${JSON.stringify(filter)}`);
}
