import type { EntityView } from './types';

export function formatState(entity: EntityView): string {
  const { state, unit, kind } = entity;
  if (state === null) return '—';
  if (kind === 'binary_sensor') return state === true ? 'on' : 'off';
  if (typeof state === 'number') return `${Number.isInteger(state) ? state : state.toFixed(1)}${unit ? ` ${unit}` : ''}`;
  return String(state);
}

/** "12 s ago", "3 min ago"… relative to now. */
export function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

export const TRANSPORT_NAMES = { mqtt: 'MQTT', coap: 'CoAP', serial: 'Serial' } as const;
