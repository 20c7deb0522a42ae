import { z } from 'zod';

/**
 * The abbreviations Home Assistant accepts in discovery payloads, for the keys we read.
 * Tasmota, ESPHome and Zigbee2MQTT use them to fit small MQTT buffers.
 */
const ABBREVIATIONS: Record<string, string> = {
  avty: 'availability',
  avty_t: 'availability_topic',
  cmd_t: 'command_topic',
  dev: 'device',
  dev_cla: 'device_class',
  pl_avail: 'payload_available',
  pl_not_avail: 'payload_not_available',
  pl_on: 'payload_on',
  pl_off: 'payload_off',
  pl_open: 'payload_open',
  pl_cls: 'payload_close',
  pl_stop: 'payload_stop',
  stat_t: 'state_topic',
  stat_on: 'state_on',
  stat_off: 'state_off',
  stat_open: 'state_open',
  stat_clsd: 'state_closed',
  stat_opening: 'state_opening',
  stat_closing: 'state_closing',
  stat_stopped: 'state_stopped',
  t: 'topic',
  uniq_id: 'unique_id',
  unit_of_meas: 'unit_of_measurement',
  val_tpl: 'value_template',
};
const DEVICE_ABBREVIATIONS: Record<string, string> = { ids: 'identifiers', mf: 'manufacturer', mdl: 'model' };

function expand(object: Record<string, unknown>, table: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [table[key] ?? key, value]));
}

/** `~` at the start or end of a topic stands for the payload's `~` base topic. */
function withBase(topic: string, base: string | undefined): string {
  if (base === undefined) return topic;
  if (topic.startsWith('~')) return base + topic.slice(1);
  if (topic.endsWith('~')) return topic.slice(0, -1) + base;
  return topic;
}

const topic = z.string().min(1).max(1024);
const text = z.string().max(255);

const DeviceInfo = z.looseObject({
  identifiers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  name: text.optional(),
  manufacturer: text.optional(),
  model: text.optional(),
});

export const DiscoveryConfigSchema = z.looseObject({
  name: text.nullable().optional(),
  unique_id: text.optional(),
  state_topic: topic.optional(),
  command_topic: topic.optional(),
  value_template: z.string().max(1024).optional(),
  unit_of_measurement: text.optional(),
  device_class: text.nullable().optional(),
  availability_topic: topic.optional(),
  availability: z.array(z.looseObject({ topic, payload_available: text.optional(), payload_not_available: text.optional() })).optional(),
  payload_available: text.default('online'),
  payload_not_available: text.default('offline'),
  payload_on: text.default('ON'),
  payload_off: text.default('OFF'),
  state_on: text.optional(),
  state_off: text.optional(),
  payload_open: text.default('OPEN'),
  payload_close: text.default('CLOSE'),
  payload_stop: text.default('STOP'),
  state_open: text.default('open'),
  state_closed: text.default('closed'),
  state_opening: text.default('opening'),
  state_closing: text.default('closing'),
  state_stopped: text.default('stopped'),
  device: DeviceInfo.optional(),
});
export type DiscoveryConfig = z.infer<typeof DiscoveryConfigSchema>;

/** Expands abbreviations and the `~` base topic, then validates; errors carry their paths. */
export function parseDiscoveryConfig(payload: unknown): z.ZodSafeParseResult<DiscoveryConfig> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return DiscoveryConfigSchema.safeParse(payload);
  const expanded = expand(payload as Record<string, unknown>, ABBREVIATIONS);
  const base = typeof expanded['~'] === 'string' ? expanded['~'] : undefined;
  for (const key of ['state_topic', 'command_topic', 'availability_topic']) {
    const value = expanded[key];
    if (typeof value === 'string') expanded[key] = withBase(value, base);
  }
  if (Array.isArray(expanded['availability'])) {
    expanded['availability'] = expanded['availability'].map((entry: unknown) => {
      if (entry === null || typeof entry !== 'object') return entry;
      const item = expand(entry as Record<string, unknown>, ABBREVIATIONS);
      return typeof item['topic'] === 'string' ? { ...item, topic: withBase(item['topic'], base) } : item;
    });
  }
  if (expanded['device'] !== null && typeof expanded['device'] === 'object') {
    expanded['device'] = expand(expanded['device'] as Record<string, unknown>, DEVICE_ABBREVIATIONS);
  }
  return DiscoveryConfigSchema.safeParse(expanded);
}
