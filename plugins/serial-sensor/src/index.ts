import {
  CommandError,
  Confirmations,
  parseJsonPayload,
  humidity,
  temperature,
  type CommandRequest,
  type DeviceModel,
  type EntityDescriptor,
  type NinhoPlugin,
  type PluginContext,
  type StateValue,
  type Unsubscribe,
} from '@ninho/plugin-sdk';
import { ReadlineParser, SerialPort } from 'serialport';
import { z } from 'zod';

/**
 * Sensors on a serial line (an Arduino on USB, an ESP32's UART; hardware/serial-sensor)
 * speaking newline-delimited JSON:
 *   device → ninho   {"id":"bench-1","temperature":22.5,"humidity":41}
 *   ninho → device   {"id":"bench-1","cmd":"ON","entity":"power"}
 * Each key other than `id` is an entity: numbers are sensors (°C and % for temperature
 * and humidity), booleans binary sensors, and `power` ("ON"/"OFF") a switch. A port that
 * goes away (unplugged, reset) is reopened with back-off, under the same device ids.
 */

const PortSchema = z.object({ path: z.string().min(1), baudRate: z.number().int().default(115200) });
const OptionsSchema = z.object({
  ports: z.array(PortSchema).default([]),
  commandTimeoutMs: z.number().int().default(5000),
  maxReconnectDelayMs: z.number().int().default(30_000),
});
type PortOptions = z.infer<typeof PortSchema>;

const ReadingSchema = z
  .object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only') })
  .catchall(z.union([z.number(), z.boolean(), z.string().max(64), z.null()]));

const MODEL: DeviceModel = {
  model: 'serial-json',
  vendor: 'ninho',
  description: 'A microcontroller on a serial line reporting newline-delimited JSON (hardware/serial-sensor)',
  entities: [temperature(), humidity()],
};

/** The entity a reading's key becomes, inferred from its name and value. */
function describeEntity(key: string, value: StateValue): EntityDescriptor {
  if (key === 'temperature') return temperature();
  if (key === 'humidity') return humidity();
  if (key === 'power') return { key, name: 'Power', kind: 'switch', commands: ['ON', 'OFF'] };
  const name = key.charAt(0).toUpperCase() + key.slice(1);
  return typeof value === 'boolean' ? { key, name, kind: 'binary_sensor' } : { key, name, kind: 'sensor' };
}

interface Link {
  options: PortOptions;
  port?: SerialPort;
  attempts: number;
  retry?: Unsubscribe;
  closed: boolean;
}

class SerialSensorPlugin implements NinhoPlugin {
  readonly models = [MODEL];

  private options = OptionsSchema.parse({});
  private readonly links: Link[] = [];
  /** Device id → the link it last spoke on, and the entity keys registered so far. */
  private readonly devices = new Map<string, { link: Link; keys: Set<string> }>();
  private readonly confirmations = new Confirmations();

  setup(context: PluginContext): void {
    this.options = OptionsSchema.parse(context.options);
    for (const options of this.options.ports) {
      const link: Link = { options, attempts: 0, closed: false };
      this.links.push(link);
      this.open(context, link);
    }
    if (this.options.ports.length === 0) context.logger.info('no serial ports configured (options.ports)');
  }

  private open(context: PluginContext, link: Link): void {
    if (link.closed) return;
    const { path, baudRate } = link.options;
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    link.port = port;
    const parser = port.pipe(new ReadlineParser({ delimiter: '\n' }));
    parser.on('data', (line: string) => this.onLine(context, link, line));
    port.on('close', () => this.reconnect(context, link, 'closed'));
    port.on('error', (error) => context.logger.warn(`serial ${path}: ${error.message}`));
    port.open((error) => {
      if (error) return this.reconnect(context, link, error.message);
      link.attempts = 0;
      context.logger.info(`serial ${path} open at ${baudRate} baud`);
    });
  }

  /** Back-off 0.5 s, 1 s, 2 s… up to maxReconnectDelayMs, on the host's timers so that disabling the plugin stops it. */
  private reconnect(context: PluginContext, link: Link, reason: string): void {
    if (link.closed || link.retry) return;
    link.port?.removeAllListeners();
    link.port = undefined;
    const delay = Math.min(this.options.maxReconnectDelayMs, 500 * 2 ** link.attempts);
    link.attempts += 1;
    context.logger.warn(`serial ${link.options.path} unavailable (${reason}); retrying in ${delay} ms`);
    for (const [deviceId, device] of this.devices) if (device.link === link) context.devices.setAvailability(deviceId, false);
    link.retry = context.timers.setTimeout(() => {
      link.retry = undefined;
      this.open(context, link);
    }, delay);
  }

  private onLine(context: PluginContext, link: Link, raw: string): void {
    const line = raw.trim();
    if (line === '') return;
    const parsed = ReadingSchema.safeParse(parseJsonPayload(line));
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(line)'}: ${i.message}`).join('; ');
      context.logger.warn(
        `serial ${link.options.path}: skipped a line that is not a reading (${why}): ${JSON.stringify(line.slice(0, 80))}`,
      );
      return;
    }
    const { id, ...values } = parsed.data;
    void this.report(context, link, id, values).catch((error: unknown) => {
      context.logger.warn(`serial ${link.options.path}: could not record ${id}: ${String(error)}`);
    });
  }

  private async report(context: PluginContext, link: Link, deviceId: string, values: Record<string, StateValue>): Promise<void> {
    const device = this.devices.get(deviceId) ?? { link, keys: new Set<string>() };
    device.link = link;
    this.devices.set(deviceId, device);
    const newKeys = Object.keys(values).filter((key) => !device.keys.has(key));
    if (newKeys.length > 0) {
      for (const key of newKeys) device.keys.add(key);
      await context.devices.register({
        id: deviceId,
        name: deviceId,
        transport: 'serial',
        model: MODEL.model,
        manufacturer: MODEL.vendor,
        entities: [...device.keys].map((key) => describeEntity(key, values[key] ?? null)),
      });
    }
    context.devices.report(deviceId, values);
    for (const [key, value] of Object.entries(values)) this.confirmations.confirm(`${deviceId}.${key}`, value);
  }

  async command(request: CommandRequest, context: PluginContext): Promise<void> {
    const { deviceId, entityKey, command } = request;
    const device = this.devices.get(deviceId);
    if (entityKey !== 'power' || !device) throw new CommandError(`${deviceId}.${entityKey} accepts no commands`, 'unsupported');
    const value = String(command).toUpperCase();
    if (value !== 'ON' && value !== 'OFF') throw new CommandError(`power accepts ON or OFF, not ${JSON.stringify(command)}`, 'rejected');
    const port = device.link.port;
    if (!port?.isOpen) throw new CommandError(`${deviceId} is offline: serial ${device.link.options.path} is not open`, 'offline');
    const confirmed = this.confirmations.wait(
      `${deviceId}.${entityKey}`,
      (state) => state === value,
      context.timers,
      this.options.commandTimeoutMs,
      `${deviceId} did not confirm power ${value} within ${this.options.commandTimeoutMs} ms`,
    );
    port.write(`${JSON.stringify({ id: deviceId, cmd: value, entity: entityKey })}\n`);
    await confirmed;
  }

  async teardown(): Promise<void> {
    for (const link of this.links) {
      link.closed = true;
      link.retry?.();
      const port = link.port;
      if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    }
  }
}

export default new SerialSensorPlugin() satisfies NinhoPlugin;
