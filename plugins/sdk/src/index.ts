/**
 * The whole surface a ninho device plugin sees. Plugins never import the server:
 * they get a PluginContext in setup(), so a plugin could later run in a worker
 * without changing a line (the Homebridge lesson in shared/STYLE.md).
 */

/** The plugin API version this SDK describes; manifests declare a semver range against it. */
export const PLUGIN_API_VERSION = '1.0.0';

export type EntityKind = 'sensor' | 'binary_sensor' | 'switch' | 'cover';
export type Transport = 'mqtt' | 'coap' | 'serial';
export type StateValue = number | string | boolean | null;
export type CommandValue = string | number | boolean;

export interface EntityDescriptor {
  /** Unique within the device; the entity id is `<deviceId>.<key>`. */
  key: string;
  name: string;
  kind: EntityKind;
  unit?: string;
  deviceClass?: string;
  /** Commands the entity accepts; none means read-only. */
  commands?: readonly CommandValue[] | 'any';
}

export interface DeviceDescriptor {
  id: string;
  name: string;
  transport: Transport;
  model?: string;
  manufacturer?: string;
  entities: readonly EntityDescriptor[];
}

/** A device model the plugin handles: one typed data object, as in Zigbee2MQTT's definitions. */
export interface DeviceModel {
  model: string;
  vendor: string;
  description: string;
  entities: readonly EntityDescriptor[];
}

export interface PluginLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface MqttMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

export interface PublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export type Unsubscribe = () => void;

export interface PluginMqtt {
  /** Subscribes inside the embedded broker; `+`/`#` wildcards work as for any client. */
  subscribe(filter: string, onMessage: (message: MqttMessage) => void): Unsubscribe;
  publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void>;
}

export interface PluginDevices {
  /** Creates or updates a device and its entities. Idempotent. */
  register(device: DeviceDescriptor): Promise<void>;
  /** Reports new states for some of a device's entities, keyed by entity key. */
  report(deviceId: string, states: Readonly<Record<string, StateValue>>, at?: Date): void;
  setAvailability(deviceId: string, online: boolean): void;
}

export interface PluginTimers {
  setTimeout(callback: () => void, ms: number): Unsubscribe;
  setInterval(callback: () => void, ms: number): Unsubscribe;
}

export interface PluginContext {
  readonly pluginId: string;
  readonly logger: PluginLogger;
  /** The plugin's options, already validated against its manifest's schema. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly mqtt: PluginMqtt;
  readonly devices: PluginDevices;
  /** Timers that the host clears when the plugin is disabled or removed. */
  readonly timers: PluginTimers;
}

export interface CommandRequest {
  deviceId: string;
  entityKey: string;
  command: CommandValue;
}

/** An example payload that must decode; the registry contract tests run every one. */
export interface PluginExample {
  topic: string;
  payload: string;
  /** The states the device must report after this message, keyed by entity key; none for a message that only configures. */
  expect?: { deviceId: string; states: Record<string, StateValue> };
}

export interface NinhoPlugin {
  models: readonly DeviceModel[];
  examples?: readonly PluginExample[];
  setup(context: PluginContext): void | Promise<void>;
  /** Carries a command to the device; resolves once the device has accepted it. */
  command?(request: CommandRequest, context: PluginContext): Promise<void>;
  teardown?(): void | Promise<void>;
}

/** Thrown by a plugin's command() so that the API can answer with a precise error. */
export class CommandError extends Error {
  constructor(
    message: string,
    /** `failed`: the plugin itself broke (the host sets it when a command throws anything else). */
    readonly reason: 'offline' | 'rejected' | 'timeout' | 'unsupported' | 'failed',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/**
 * Commands that are done only once the device reports the state that confirms them (a
 * relay's stat, a door's "opening"), or fail with a timeout CommandError.
 */
export class Confirmations {
  private readonly waiting = new Map<string, Array<{ accepts: (state: StateValue) => boolean; resolve: () => void }>>();

  /** Waits for confirm(key, state) with a state that accepts() takes. */
  wait(
    key: string,
    accepts: (state: StateValue) => boolean,
    timers: PluginTimers,
    timeoutMs: number,
    timeoutMessage: string,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = {
        accepts,
        resolve: () => {
          cancel();
          resolve();
        },
      };
      const cancel = timers.setTimeout(() => {
        this.waiting.set(
          key,
          (this.waiting.get(key) ?? []).filter((w) => w !== waiter),
        );
        reject(new CommandError(timeoutMessage, 'timeout'));
      }, timeoutMs);
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), waiter]);
    });
  }

  /** A state came in: settles every wait it confirms. */
  confirm(key: string, state: StateValue): void {
    const waiting = this.waiting.get(key);
    if (!waiting) return;
    const done = waiting.filter((w) => w.accepts(state));
    this.waiting.set(
      key,
      waiting.filter((w) => !done.includes(w)),
    );
    for (const waiter of done) waiter.resolve();
  }
}

/** Device payloads are often not JSON at all (or half a packet): undefined instead of a throw. */
export function parseJsonPayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

// Capability factories: a device model is a short list of these (STYLE.md, ZHC's `extend`).

export function temperature(overrides: Partial<EntityDescriptor> = {}): EntityDescriptor {
  return { key: 'temperature', name: 'Temperature', kind: 'sensor', unit: '°C', deviceClass: 'temperature', ...overrides };
}

export function humidity(overrides: Partial<EntityDescriptor> = {}): EntityDescriptor {
  return { key: 'humidity', name: 'Humidity', kind: 'sensor', unit: '%', deviceClass: 'humidity', ...overrides };
}

export function onOffSwitch(overrides: Partial<EntityDescriptor> = {}): EntityDescriptor {
  return { key: 'power', name: 'Power', kind: 'switch', commands: ['ON', 'OFF', 'TOGGLE'], ...overrides };
}

export function binarySensor(key: string, deviceClass: string, overrides: Partial<EntityDescriptor> = {}): EntityDescriptor {
  return { key, name: key.charAt(0).toUpperCase() + key.slice(1), kind: 'binary_sensor', deviceClass, ...overrides };
}
