import {
  CommandError,
  Confirmations,
  parseJsonPayload,
  type CommandRequest,
  type DeviceModel,
  type EntityDescriptor,
  type NinhoPlugin,
  type PluginContext,
  type PluginExample,
  type StateValue,
  type Unsubscribe,
} from '@ninho/plugin-sdk';
import { z } from 'zod';
import { parseDiscoveryConfig, type DiscoveryConfig } from './discovery-config';
import { compileValueTemplate, type ValueReader } from './template';

/**
 * Home Assistant MQTT discovery, so that a device on the market that speaks it needs
 * no plugin: a retained `homeassistant/<component>/[<node_id>/]<object_id>/config`
 * creates the device and the entity, whose state, commands and availability then flow
 * over the topics that config names. Components: sensor, binary_sensor, switch, cover.
 * An empty config removes the entity again.
 */

const COMPONENTS = ['sensor', 'binary_sensor', 'switch', 'cover'] as const;
type Component = (typeof COMPONENTS)[number];

const OptionsSchema = z.object({
  discoveryPrefix: z.string().min(1).default('homeassistant'),
  commandTimeoutMs: z.number().int().default(5000),
});

const MODEL: DeviceModel = {
  model: 'ha-discovery',
  vendor: 'any',
  description: 'Any device announcing itself by Home Assistant MQTT discovery (Tasmota, ESPHome, Zigbee2MQTT, Shelly…)',
  entities: [],
};

interface DiscoveredEntity {
  component: Component;
  deviceId: string;
  descriptor: EntityDescriptor;
  config: DiscoveryConfig;
  read: ValueReader;
  unsubscribe: Unsubscribe[];
  state?: StateValue;
}

interface DiscoveredDevice {
  name: string;
  manufacturer?: string;
  model?: string;
  entities: Map<string, DiscoveredEntity>;
  online?: boolean;
}

/** Ids and keys end up in topics and URLs: letters, digits, `_` and `-` only. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed';
}

class HaDiscoveryPlugin implements NinhoPlugin {
  readonly models = [MODEL];
  readonly examples: readonly PluginExample[] = [
    {
      topic: 'homeassistant/sensor/attic/temperature/config',
      payload: '{"name":"Temperature","stat_t":"attic/state","val_tpl":"{{ value_json.t }}","unit_of_meas":"°C","dev_cla":"temperature"}',
    },
    { topic: 'attic/state', payload: '{"t":18.5}', expect: { deviceId: 'attic', states: { temperature: 18.5 } } },
  ];

  private options = OptionsSchema.parse({});
  private readonly devices = new Map<string, DiscoveredDevice>();
  /** Config topic → the entity it created, so that an update or an empty payload finds it. */
  private readonly byConfigTopic = new Map<string, DiscoveredEntity>();
  private readonly availabilityTopics = new Map<string, Unsubscribe>();
  private readonly confirmations = new Confirmations();

  setup(context: PluginContext): void {
    this.options = OptionsSchema.parse(context.options);
    const prefix = this.options.discoveryPrefix;
    for (const filter of [`${prefix}/+/+/config`, `${prefix}/+/+/+/config`]) {
      context.mqtt.subscribe(filter, ({ topic, payload }) => {
        void this.onConfig(context, topic, payload.toString('utf8')).catch((error: unknown) => {
          context.logger.warn(`failed to handle ${topic}: ${String(error)}`);
        });
      });
    }
  }

  private async onConfig(context: PluginContext, topic: string, text: string): Promise<void> {
    const levels = topic.slice(this.options.discoveryPrefix.length + 1).split('/');
    const [component, nodeId, objectId] = levels.length === 4 ? levels : [levels[0], undefined, levels[1]];
    if (!COMPONENTS.includes(component as Component)) {
      context.logger.debug(`ignoring ${topic}: ${component} entities are not supported`);
      return;
    }
    this.remove(context, topic);
    if (text.trim() === '') return;

    const parsed = parseDiscoveryConfig(parseJsonPayload(text));
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
      context.logger.warn(`ignoring ${topic}: ${issues.join('; ')}`);
      return;
    }
    const config = parsed.data;
    let read: ValueReader;
    try {
      read = compileValueTemplate(config.value_template);
    } catch (error) {
      context.logger.warn(`ignoring ${topic}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    const identifiers = config.device?.identifiers;
    const deviceId = slug((Array.isArray(identifiers) ? identifiers[0] : identifiers) ?? nodeId ?? objectId ?? 'unnamed');
    const rawKey = slug(objectId ?? config.unique_id ?? component ?? 'entity');
    const key = rawKey.startsWith(`${deviceId}_`) && rawKey.length > deviceId.length + 1 ? rawKey.slice(deviceId.length + 1) : rawKey;
    const kind = component as Component;
    const descriptor: EntityDescriptor = {
      key,
      name: config.name ?? key,
      kind,
      ...(config.unit_of_measurement ? { unit: config.unit_of_measurement } : {}),
      ...(config.device_class ? { deviceClass: config.device_class } : {}),
      ...(config.command_topic && kind === 'switch' ? { commands: ['ON', 'OFF', 'TOGGLE'] } : {}),
      ...(config.command_topic && kind === 'cover' ? { commands: ['open', 'close', 'stop'] } : {}),
    };
    const device = this.devices.get(deviceId) ?? { name: config.device?.name ?? deviceId, entities: new Map<string, DiscoveredEntity>() };
    if (config.device?.manufacturer) device.manufacturer = config.device.manufacturer;
    if (config.device?.model) device.model = config.device.model;
    this.devices.set(deviceId, device);
    const entity: DiscoveredEntity = { component: kind, deviceId, descriptor, config, read, unsubscribe: [] };
    device.entities.set(key, entity);
    this.byConfigTopic.set(topic, entity);

    await context.devices.register({
      id: deviceId,
      name: device.name,
      transport: 'mqtt',
      ...(device.model ? { model: device.model } : {}),
      ...(device.manufacturer ? { manufacturer: device.manufacturer } : {}),
      entities: [...device.entities.values()].map((e) => e.descriptor),
    });
    if (config.state_topic) {
      entity.unsubscribe.push(
        context.mqtt.subscribe(config.state_topic, ({ payload }) => this.onState(context, entity, payload.toString('utf8'))),
      );
    }
    this.watchAvailability(context, deviceId, config);
    context.logger.info(`discovered ${kind} ${deviceId}.${key} from ${topic}`);
  }

  private remove(context: PluginContext, configTopic: string): void {
    const entity = this.byConfigTopic.get(configTopic);
    if (!entity) return;
    for (const stop of entity.unsubscribe) stop();
    this.byConfigTopic.delete(configTopic);
    this.devices.get(entity.deviceId)?.entities.delete(entity.descriptor.key);
    context.logger.info(`${entity.deviceId}.${entity.descriptor.key} removed from discovery (its history is kept)`);
  }

  private watchAvailability(context: PluginContext, deviceId: string, config: DiscoveryConfig): void {
    const sources = [
      ...(config.availability_topic
        ? [{ topic: config.availability_topic, online: config.payload_available, offline: config.payload_not_available }]
        : []),
      ...(config.availability ?? []).map((a) => ({
        topic: a.topic,
        online: a.payload_available ?? config.payload_available,
        offline: a.payload_not_available ?? config.payload_not_available,
      })),
    ];
    for (const source of sources) {
      const id = `${deviceId} ${source.topic}`;
      if (this.availabilityTopics.has(id)) continue;
      const stop = context.mqtt.subscribe(source.topic, ({ payload }) => {
        const text = payload.toString('utf8');
        const online = text === source.online ? true : text === source.offline ? false : undefined;
        if (online === undefined) return;
        const device = this.devices.get(deviceId);
        if (device) device.online = online;
        context.devices.setAvailability(deviceId, online);
      });
      this.availabilityTopics.set(id, stop);
    }
  }

  private toState(entity: DiscoveredEntity, value: StateValue): StateValue | undefined {
    const { config } = entity;
    const text = String(value);
    switch (entity.component) {
      case 'sensor':
        return typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
      case 'binary_sensor':
        return text === config.payload_on ? true : text === config.payload_off ? false : undefined;
      case 'switch':
        return text === (config.state_on ?? config.payload_on)
          ? 'ON'
          : text === (config.state_off ?? config.payload_off)
            ? 'OFF'
            : undefined;
      case 'cover': {
        const states: Record<string, string> = {
          [config.state_open]: 'open',
          [config.state_closed]: 'closed',
          [config.state_opening]: 'opening',
          [config.state_closing]: 'closing',
          [config.state_stopped]: 'stopped',
        };
        return states[text];
      }
    }
  }

  private onState(context: PluginContext, entity: DiscoveredEntity, payload: string): void {
    const value = entity.read(payload);
    const state = value === undefined ? undefined : this.toState(entity, value);
    if (state === undefined) {
      context.logger.debug(`${entity.deviceId}.${entity.descriptor.key}: no state in ${JSON.stringify(payload.slice(0, 64))}`);
      return;
    }
    entity.state = state;
    context.devices.report(entity.deviceId, { [entity.descriptor.key]: state });
    this.confirmations.confirm(`${entity.deviceId}.${entity.descriptor.key}`, state);
  }

  async command(request: CommandRequest, context: PluginContext): Promise<void> {
    const { deviceId, entityKey, command } = request;
    const device = this.devices.get(deviceId);
    const entity = device?.entities.get(entityKey);
    if (!entity?.config.command_topic) throw new CommandError(`${deviceId}.${entityKey} accepts no commands`, 'unsupported');
    if (device?.online === false) throw new CommandError(`${deviceId} is offline`, 'offline');
    const { payload, accepts } = this.encode(entity, String(command));

    const { config } = entity;
    const confirmed = config.state_topic
      ? this.confirmations.wait(
          `${deviceId}.${entityKey}`,
          accepts,
          context.timers,
          this.options.commandTimeoutMs,
          `${deviceId} did not confirm ${String(command)} within ${this.options.commandTimeoutMs} ms`,
        )
      : Promise.resolve();
    await context.mqtt.publish(config.command_topic ?? '', payload, { qos: 1 });
    await confirmed;
  }

  private encode(entity: DiscoveredEntity, command: string): { payload: string; accepts: (state: StateValue) => boolean } {
    const { config } = entity;
    if (entity.component === 'switch') {
      const upper = command.toUpperCase();
      const on = upper === 'ON' || (upper === 'TOGGLE' && entity.state !== 'ON');
      if (upper !== 'ON' && upper !== 'OFF' && upper !== 'TOGGLE') {
        throw new CommandError(`a switch accepts ON, OFF or TOGGLE, not ${JSON.stringify(command)}`, 'rejected');
      }
      return { payload: on ? config.payload_on : config.payload_off, accepts: (s) => s === (on ? 'ON' : 'OFF') };
    }
    if (entity.component === 'cover') {
      const action = command.toLowerCase();
      if (action === 'open') return { payload: config.payload_open, accepts: (s) => s === 'opening' || s === 'open' };
      if (action === 'close') return { payload: config.payload_close, accepts: (s) => s === 'closing' || s === 'closed' };
      if (action === 'stop') return { payload: config.payload_stop, accepts: () => true };
      throw new CommandError(`a cover accepts open, close or stop, not ${JSON.stringify(command)}`, 'rejected');
    }
    throw new CommandError(`${entity.deviceId}.${entity.descriptor.key} is a ${entity.component}`, 'unsupported');
  }
}

export default new HaDiscoveryPlugin() satisfies NinhoPlugin;
