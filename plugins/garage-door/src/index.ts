import {
  binarySensor,
  CommandError,
  Confirmations,
  parseJsonPayload,
  type CommandRequest,
  type DeviceModel,
  type EntityDescriptor,
  type NinhoPlugin,
  type PluginExample,
  type PluginContext,
  type StateValue,
  type Unsubscribe,
} from '@ninho/plugin-sdk';
import { z } from 'zod';

/**
 * Garage-door and gate controllers (hardware/garage-door: an ESP8266 pulsing the
 * opener's relay, with a reed switch at each end of travel) and their parking spot:
 *   garage/<id>/state         open | closed | opening | closing | stopped | unknown   (retained)
 *   garage/<id>/set           OPEN | CLOSE | STOP                                      (to the device)
 *   garage/<id>/availability  online | offline                                        (retained, last will)
 *   garage/<id>/obstructed    on | off
 *   garage/<id>/occupancy     occupied | free                                         (ultrasonic or IR)
 *   garage/<id>/motion        on | off
 *   garage/<id>/info          {"name":"Front gate","deviceClass":"gate"}              (retained, optional)
 * The device id is <id>.
 */

const DOOR_STATES = ['open', 'closed', 'opening', 'closing', 'stopped', 'unknown'] as const;
type DoorState = (typeof DOOR_STATES)[number];
const ACTIONS = ['open', 'close', 'stop'] as const;
type Action = (typeof ACTIONS)[number];

const lowerCase = z.string().transform((s) => s.trim().toLowerCase());
const DoorStatePayload = lowerCase.pipe(z.enum(DOOR_STATES));
const OnOffPayload = lowerCase.pipe(z.enum(['on', 'off'])).transform((v) => v === 'on');
const OccupancyPayload = lowerCase.pipe(z.enum(['occupied', 'free'])).transform((v) => v === 'occupied');
const AvailabilityPayload = lowerCase.pipe(z.enum(['online', 'offline'])).transform((v) => v === 'online');
const InfoPayload = z.object({
  name: z.string().trim().min(1).max(64).optional(),
  deviceClass: z.enum(['garage', 'gate']).default('garage'),
});
type Info = z.infer<typeof InfoPayload>;

const OptionsSchema = z.object({
  travelTimeoutMs: z.number().int().default(60_000),
  commandTimeoutMs: z.number().int().default(5000),
});

const TOPIC = /^garage\/([^/]+)\/(state|obstructed|occupancy|motion|availability|info)$/;

/** Door states that show a command was taken up. */
const ACCEPTED: Record<Action, readonly DoorState[]> = {
  open: ['opening', 'open'],
  close: ['closing', 'closed'],
  stop: ['stopped', 'open', 'closed'],
};

function entities(deviceClass: Info['deviceClass']): EntityDescriptor[] {
  return [
    { key: 'door', name: deviceClass === 'gate' ? 'Gate' : 'Door', kind: 'cover', deviceClass, commands: ACTIONS },
    binarySensor('obstructed', 'problem'),
    binarySensor('occupancy', 'occupancy', { name: 'Parking spot' }),
    binarySensor('motion', 'motion'),
  ];
}

const MODEL: DeviceModel = {
  model: 'ninho-garage-v1',
  vendor: 'ninho',
  description: 'ESP8266 garage-door or gate controller: relay pulse, two reed end stops, parking-spot occupancy and motion',
  entities: entities('garage'),
};

class GarageDoorPlugin implements NinhoPlugin {
  readonly models = [MODEL];
  readonly examples: readonly PluginExample[] = [
    { topic: 'garage/garage-1/state', payload: 'opening', expect: { deviceId: 'garage-1', states: { door: 'opening' } } },
    { topic: 'garage/garage-1/occupancy', payload: 'occupied', expect: { deviceId: 'garage-1', states: { occupancy: true } } },
    { topic: 'garage/front-gate/motion', payload: 'ON', expect: { deviceId: 'front-gate', states: { motion: true } } },
  ];

  private options = OptionsSchema.parse({});
  private readonly registrations = new Map<string, Promise<void>>();
  private readonly info = new Map<string, Info>();
  private readonly online = new Map<string, boolean>();
  private readonly door = new Map<string, DoorState>();
  private readonly travelTimers = new Map<string, Unsubscribe>();
  private readonly confirmations = new Confirmations();

  setup(context: PluginContext): void {
    this.options = OptionsSchema.parse(context.options);
    context.mqtt.subscribe('garage/+/+', ({ topic, payload }) => {
      void this.onMessage(context, topic, payload.toString('utf8')).catch((error: unknown) => {
        context.logger.warn(`failed to handle ${topic}: ${String(error)}`);
      });
    });
  }

  private register(context: PluginContext, deviceId: string): Promise<void> {
    const info = this.info.get(deviceId) ?? { deviceClass: 'garage' };
    const registration = context.devices.register({
      id: deviceId,
      name: info.name ?? deviceId,
      transport: 'mqtt',
      model: MODEL.model,
      manufacturer: MODEL.vendor,
      entities: entities(info.deviceClass),
    });
    this.registrations.set(deviceId, registration);
    registration.catch(() => this.registrations.delete(deviceId));
    return registration;
  }

  private ensureRegistered(context: PluginContext, deviceId: string): Promise<void> {
    return this.registrations.get(deviceId) ?? this.register(context, deviceId);
  }

  private async onMessage(context: PluginContext, topic: string, text: string): Promise<void> {
    const match = TOPIC.exec(topic);
    if (!match) return;
    const [, deviceId = '', kind] = match;
    const invalid = (): void => context.logger.warn(`ignoring ${topic}: unexpected payload ${JSON.stringify(text.slice(0, 64))}`);
    switch (kind) {
      case 'info': {
        const parsed = InfoPayload.safeParse(parseJsonPayload(text));
        if (!parsed.success) return invalid();
        this.info.set(deviceId, parsed.data);
        await this.register(context, deviceId);
        return;
      }
      case 'availability': {
        const parsed = AvailabilityPayload.safeParse(text);
        if (!parsed.success) return invalid();
        await this.ensureRegistered(context, deviceId);
        this.online.set(deviceId, parsed.data);
        context.devices.setAvailability(deviceId, parsed.data);
        if (!parsed.data) this.stopTravelTimer(deviceId);
        return;
      }
      case 'state': {
        const parsed = DoorStatePayload.safeParse(text);
        if (!parsed.success) return invalid();
        await this.ensureRegistered(context, deviceId);
        this.onDoorState(context, deviceId, parsed.data);
        return;
      }
      case 'obstructed':
      case 'motion': {
        const parsed = OnOffPayload.safeParse(text);
        if (!parsed.success) return invalid();
        await this.ensureRegistered(context, deviceId);
        context.devices.report(deviceId, { [kind]: parsed.data });
        return;
      }
      case 'occupancy': {
        const parsed = OccupancyPayload.safeParse(text);
        if (!parsed.success) return invalid();
        await this.ensureRegistered(context, deviceId);
        context.devices.report(deviceId, { occupancy: parsed.data });
        return;
      }
      default:
        return;
    }
  }

  private onDoorState(context: PluginContext, deviceId: string, state: DoorState): void {
    this.door.set(deviceId, state);
    context.devices.report(deviceId, { door: state satisfies StateValue });
    this.stopTravelTimer(deviceId);
    if (state === 'opening' || state === 'closing') {
      // Without an end-stop report in time the door may be jammed or a reed switch broken:
      // say "unknown" rather than keep showing it moving.
      const cancel = context.timers.setTimeout(() => {
        this.travelTimers.delete(deviceId);
        if (this.door.get(deviceId) !== state) return;
        context.logger.warn(`${deviceId}: no end-stop report within ${this.options.travelTimeoutMs} ms of ${state}; state unknown`);
        this.door.set(deviceId, 'unknown');
        context.devices.report(deviceId, { door: 'unknown' });
      }, this.options.travelTimeoutMs);
      this.travelTimers.set(deviceId, cancel);
    }
    this.confirmations.confirm(deviceId, state);
  }

  private stopTravelTimer(deviceId: string): void {
    this.travelTimers.get(deviceId)?.();
    this.travelTimers.delete(deviceId);
  }

  async command(request: CommandRequest, context: PluginContext): Promise<void> {
    const { deviceId, entityKey, command } = request;
    if (entityKey !== 'door') throw new CommandError(`${deviceId}.${entityKey} accepts no commands`, 'unsupported');
    const action = ACTIONS.find((a) => a === String(command).toLowerCase());
    if (!action) throw new CommandError(`the door accepts open, close or stop, not ${JSON.stringify(command)}`, 'rejected');
    if (this.online.get(deviceId) !== true) throw new CommandError(`${deviceId} is offline`, 'offline');

    const accepts = ACCEPTED[action];
    const current = this.door.get(deviceId);
    // Already there or on its way (or, for stop, at rest): nothing to send.
    if (current !== undefined && accepts.includes(current)) return;
    const taken = this.confirmations.wait(
      deviceId,
      (state) => accepts.includes(state as DoorState),
      context.timers,
      this.options.commandTimeoutMs,
      `${deviceId} did not start to ${action} within ${this.options.commandTimeoutMs} ms`,
    );
    await context.mqtt.publish(`garage/${deviceId}/set`, action.toUpperCase(), { qos: 1 });
    await taken;
  }

  teardown(): void {
    for (const cancel of this.travelTimers.values()) cancel();
    this.travelTimers.clear();
  }
}

export default new GarageDoorPlugin() satisfies NinhoPlugin;
