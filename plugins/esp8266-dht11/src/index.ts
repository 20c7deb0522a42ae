import {
  CommandError,
  Confirmations,
  parseJsonPayload,
  humidity,
  type CommandRequest,
  onOffSwitch,
  temperature,
  type DeviceModel,
  type NinhoPlugin,
  type PluginContext,
  type StateValue,
} from '@ninho/plugin-sdk';
import { z } from 'zod';

/**
 * ESP8266 + DHT11 sensors on the Tasmota MQTT convention, so that our firmware
 * (hardware/esp8266-dht11) and stock Tasmota devices both work:
 *   tele/<topic>/SENSOR  {"DHT11":{"Temperature":22.6,"Humidity":32.4},"TempUnit":"C"}
 *   tele/<topic>/LWT     Online | Offline   (retained last will)
 *   tele/<topic>/STATE   {"POWER":"ON",...}  (boards with a relay, e.g. Sonoff TH)
 *   stat/<topic>/POWER   ON | OFF            (reply to cmnd/<topic>/POWER)
 * The device id is <topic>.
 */

const MODEL: DeviceModel = {
  model: 'ESP8266-DHT11',
  vendor: 'Espressif / Aosong',
  description: 'ESP8266 with a DHT11 temperature and humidity sensor (Tasmota convention)',
  entities: [temperature(), humidity(), onOffSwitch()],
};

const OptionsSchema = z.object({ commandTimeoutMs: z.number().int().default(5000) });

const Dht11Reading = z.object({
  Temperature: z.number().nullable().optional(),
  Humidity: z.number().nullable().optional(),
});
const SensorPayload = z.object({
  DHT11: Dht11Reading,
  TempUnit: z.enum(['C', 'F']).default('C'),
});
const StatePayload = z.object({ POWER: z.enum(['ON', 'OFF']).optional() });
const PowerPayload = z.enum(['ON', 'OFF']);

const TOPIC = /^(tele|stat)\/([^/]+)\/(SENSOR|LWT|STATE|POWER)$/;

function fahrenheitToCelsius(f: number): number {
  return Math.round(((f - 32) * 5 * 10) / 9) / 10;
}

class Dht11Plugin implements NinhoPlugin {
  readonly models = [MODEL];
  readonly examples = [
    {
      topic: 'tele/kitchen-dht/SENSOR',
      payload: '{"Time":"2026-11-23T10:00:00","DHT11":{"Temperature":22.6,"Humidity":32.4,"DewPoint":5.3},"TempUnit":"C"}',
      expect: { deviceId: 'kitchen-dht', states: { temperature: 22.6, humidity: 32.4 } },
    },
    {
      topic: 'tele/porch-dht/SENSOR',
      payload: '{"DHT11":{"Temperature":72.5,"Humidity":50},"TempUnit":"F"}',
      expect: { deviceId: 'porch-dht', states: { temperature: 22.5, humidity: 50 } },
    },
  ];

  /** Registration in flight or done, per device: reports wait for it so none is dropped. */
  private readonly registrations = new Map<string, Promise<void>>();
  private readonly online = new Map<string, boolean>();
  private readonly hasRelay = new Set<string>();
  private readonly confirmations = new Confirmations();
  private commandTimeoutMs = 5000;

  async setup(context: PluginContext): Promise<void> {
    this.commandTimeoutMs = OptionsSchema.parse(context.options).commandTimeoutMs;
    for (const filter of ['tele/+/+', 'stat/+/POWER']) {
      context.mqtt.subscribe(filter, ({ topic, payload }) => {
        void this.onMessage(context, topic, payload.toString('utf8')).catch((error: unknown) => {
          context.logger.warn(`failed to handle ${topic}: ${String(error)}`);
        });
      });
    }
  }

  private ensureRegistered(context: PluginContext, deviceId: string): Promise<void> {
    const existing = this.registrations.get(deviceId);
    if (existing) return existing;
    return this.register(context, deviceId);
  }

  private register(context: PluginContext, deviceId: string): Promise<void> {
    const entities = this.hasRelay.has(deviceId) ? MODEL.entities : MODEL.entities.filter((e) => e.kind !== 'switch');
    const registration = context.devices.register({
      id: deviceId,
      name: deviceId,
      transport: 'mqtt',
      model: MODEL.model,
      manufacturer: MODEL.vendor,
      entities,
    });
    this.registrations.set(deviceId, registration);
    registration.catch(() => this.registrations.delete(deviceId));
    return registration;
  }

  private async onMessage(context: PluginContext, topic: string, text: string): Promise<void> {
    const match = TOPIC.exec(topic);
    if (!match) return;
    const [, prefix, deviceId = '', kind] = match;
    switch (kind) {
      case 'SENSOR': {
        const parsed = SensorPayload.safeParse(parseJsonPayload(text));
        // Tasmota also reports other sensors on this topic; only DHT11 payloads are ours.
        if (!parsed.success) {
          context.logger.debug(`ignoring ${topic}: not a DHT11 payload`);
          return;
        }
        const { DHT11: reading, TempUnit: unit } = parsed.data;
        const states: Record<string, StateValue> = {};
        if (reading.Temperature != null) {
          states['temperature'] = unit === 'F' ? fahrenheitToCelsius(reading.Temperature) : reading.Temperature;
        }
        if (reading.Humidity != null) states['humidity'] = reading.Humidity;
        await this.ensureRegistered(context, deviceId);
        context.devices.report(deviceId, states);
        if (this.online.get(deviceId) !== true) this.setOnline(context, deviceId, true);
        return;
      }
      case 'LWT': {
        const online = text === 'Online';
        if (!online && text !== 'Offline') {
          context.logger.warn(`unexpected LWT payload on ${topic}: ${JSON.stringify(text.slice(0, 64))}`);
          return;
        }
        await this.ensureRegistered(context, deviceId);
        this.setOnline(context, deviceId, online);
        return;
      }
      case 'STATE': {
        const parsed = StatePayload.safeParse(parseJsonPayload(text));
        if (!parsed.success || parsed.data.POWER === undefined) return;
        await this.onPower(context, deviceId, parsed.data.POWER);
        return;
      }
      case 'POWER': {
        if (prefix !== 'stat') return;
        const parsed = PowerPayload.safeParse(text);
        if (!parsed.success) {
          context.logger.warn(`unexpected POWER payload on ${topic}`);
          return;
        }
        await this.onPower(context, deviceId, parsed.data);
        return;
      }
      default:
        return;
    }
  }

  private async onPower(context: PluginContext, deviceId: string, power: 'ON' | 'OFF'): Promise<void> {
    if (!this.hasRelay.has(deviceId)) {
      this.hasRelay.add(deviceId);
      await this.register(context, deviceId);
    }
    context.devices.report(deviceId, { power });
    this.confirmations.confirm(deviceId, power);
  }

  private setOnline(context: PluginContext, deviceId: string, online: boolean): void {
    this.online.set(deviceId, online);
    context.devices.setAvailability(deviceId, online);
  }

  async command(request: CommandRequest, context: PluginContext): Promise<void> {
    const { deviceId, entityKey, command } = request;
    if (entityKey !== 'power') throw new CommandError(`${deviceId}.${entityKey} accepts no commands`, 'unsupported');
    const value = String(command).toUpperCase();
    if (value !== 'ON' && value !== 'OFF' && value !== 'TOGGLE') {
      throw new CommandError(`power accepts ON, OFF or TOGGLE, not ${JSON.stringify(command)}`, 'rejected');
    }
    if (this.online.get(deviceId) === false) throw new CommandError(`${deviceId} is offline`, 'offline');
    // Tasmota answers TOGGLE with the resulting state, whichever it is.
    const confirmed = this.confirmations.wait(
      deviceId,
      (state) => value === 'TOGGLE' || state === value,
      context.timers,
      this.commandTimeoutMs,
      `${deviceId} did not confirm POWER ${value} within ${this.commandTimeoutMs} ms`,
    );
    await context.mqtt.publish(`cmnd/${deviceId}/POWER`, value, { qos: 1 });
    await confirmed;
  }
}

export default new Dht11Plugin() satisfies NinhoPlugin;
