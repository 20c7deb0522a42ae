import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { CommandValue, DeviceDescriptor, StateValue } from '@ninho/plugin-sdk';
import { Clock } from '../clock/clock';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { EventBus } from '../events/event-bus';
import { NotFoundError, ReadOnlyEntityError } from './device.errors';
import { DeviceRepository } from './device.repository';
import { entityId, type CommandHandler, type DeviceRecord, type EntityRecord } from './device.types';

const READ_ONLY_KINDS = new Set(['sensor', 'binary_sensor']);

/**
 * The one owner of device and entity state. Transports and plugins report into it;
 * history, rules and the live gateway only listen to its events.
 */
@Injectable()
export class DeviceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Devices');
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly entitiesById = new Map<string, EntityRecord>();
  private readonly commandHandlers = new Map<string, CommandHandler>();
  /** Registrations of one device run one after another, so entity upserts never race. */
  private readonly registrationQueue = new Map<string, Promise<unknown>>();
  private readonly unknownReporters = new Set<string>();
  private readonly returning = new Set<string>();
  /** The last registration of each device in this run, so that a removed device that sends again comes back. */
  private readonly registrations = new Map<string, { pluginId: string; descriptor: DeviceDescriptor }>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repository: DeviceRepository,
    private readonly events: EventBus,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async onModuleInit(): Promise<void> {
    for (const device of await this.repository.loadAll()) this.cache(device);
    this.logger.log(`${this.devices.size} devices, ${this.entitiesById.size} entities loaded`);
    const sweepMs = Math.min(30_000, this.config.devices.offlineAfterSeconds * 250);
    this.sweepTimer = setInterval(() => this.markSilentDevicesOffline(), sweepMs);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  private cache(device: DeviceRecord): void {
    this.devices.set(device.id, device);
    for (const entity of device.entities.values()) this.entitiesById.set(entity.id, entity);
  }

  list(): DeviceRecord[] {
    return [...this.devices.values()];
  }

  find(deviceId: string): DeviceRecord | undefined {
    return this.devices.get(deviceId);
  }

  get(deviceId: string): DeviceRecord {
    const device = this.devices.get(deviceId);
    if (!device) throw new NotFoundError(`no device "${deviceId}"`);
    return device;
  }

  getEntity(id: string): EntityRecord {
    const entity = this.entitiesById.get(id);
    if (!entity) throw new NotFoundError(`no entity "${id}"`);
    return entity;
  }

  register(pluginId: string, descriptor: DeviceDescriptor): Promise<void> {
    const previous = this.registrationQueue.get(descriptor.id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.registerNow(pluginId, descriptor));
    this.registrationQueue.set(descriptor.id, next);
    void next
      .finally(() => {
        if (this.registrationQueue.get(descriptor.id) === next) this.registrationQueue.delete(descriptor.id);
      })
      .catch(() => undefined);
    return next;
  }

  private async registerNow(pluginId: string, descriptor: DeviceDescriptor): Promise<void> {
    const refs = await this.repository.upsert(pluginId, descriptor);
    const existing = this.devices.get(descriptor.id);
    // Not cached: new, or removed earlier with its history kept, in which case the stored
    // names (a user's renames) and last states come back with it.
    const device = existing ?? (await this.repository.load(descriptor.id));
    if (!device) throw new NotFoundError(`device ${descriptor.id} vanished while it was being registered`);
    Object.assign(device, {
      pluginId,
      transport: descriptor.transport,
      model: descriptor.model ?? null,
      manufacturer: descriptor.manufacturer ?? null,
    });
    for (const entity of descriptor.entities) {
      const ref = refs.get(entity.key);
      if (ref === undefined) continue;
      const current = device.entities.get(entity.key);
      const record: EntityRecord = {
        ref,
        id: entityId(device.id, entity.key),
        deviceId: device.id,
        key: entity.key,
        name: current?.name ?? entity.name,
        kind: entity.kind,
        unit: entity.unit ?? null,
        deviceClass: entity.deviceClass ?? null,
        state: current?.state,
        stateAt: current?.stateAt ?? null,
      };
      if (entity.commands !== undefined) record.commands = entity.commands;
      device.entities.set(entity.key, record);
    }
    this.cache(device);
    this.registrations.set(device.id, { pluginId, descriptor });
    this.unknownReporters.delete(device.id);
    if (!existing)
      this.logger.log(
        `new device ${device.id} (${pluginId}, ${descriptor.transport}) with ${descriptor.entities.map((e) => e.key).join(', ')}`,
      );
    this.events.emit('device.registered', { deviceId: device.id });
  }

  /** Records new states. Unknown devices or keys are logged and skipped, never thrown at the transport. */
  report(deviceId: string, states: Readonly<Record<string, StateValue>>, at: Date = this.clock.now()): void {
    const device = this.devices.get(deviceId);
    if (!device) {
      this.reportFromUnknown(deviceId, states, at);
      return;
    }
    device.lastSeen = at;
    if (!device.online) this.setAvailability(deviceId, true, at);
    for (const [key, state] of Object.entries(states)) {
      const entity = device.entities.get(key);
      if (!entity) {
        this.logger.warn(`report for unknown entity ${entityId(deviceId, key)} ignored`);
        continue;
      }
      entity.state = state;
      entity.stateAt = at;
      this.events.emit('entity.state', { entityId: entity.id, entityRef: entity.ref, deviceId, entityKey: key, state, at });
    }
  }

  /** A device removed by a user that is still sending comes back (with its history, if that was kept). */
  private reportFromUnknown(deviceId: string, states: Readonly<Record<string, StateValue>>, at: Date): void {
    const removed = this.registrations.get(deviceId);
    if (removed) {
      // Registrations of one device are queued and idempotent, so a burst of reports is safe.
      if (!this.returning.has(deviceId)) this.logger.log(`removed device ${deviceId} is sending again: back in the registry`);
      this.returning.add(deviceId);
      this.register(removed.pluginId, removed.descriptor)
        .then(() => {
          this.returning.delete(deviceId);
          this.report(deviceId, states, at);
        })
        .catch((error: unknown) => this.logger.error(`could not register ${deviceId} again: ${String(error)}`));
      return;
    }
    // Once per device and run, or a device that sends every second would flood the log.
    if (!this.unknownReporters.has(deviceId)) this.logger.warn(`reports for unknown device ${deviceId} ignored`);
    this.unknownReporters.add(deviceId);
  }

  setAvailability(deviceId: string, online: boolean, at: Date = this.clock.now()): void {
    const device = this.devices.get(deviceId);
    if (!device || device.online === online) return;
    device.online = online;
    if (online) device.lastSeen = at;
    this.events.emit('device.availability', { deviceId, online, at });
    this.repository.setAvailability(deviceId, online, at).catch((error: unknown) => {
      this.logger.error(`could not store availability of ${deviceId}: ${String(error)}`);
    });
  }

  private markSilentDevicesOffline(): void {
    const cutoff = this.clock.now().getTime() - this.config.devices.offlineAfterSeconds * 1000;
    for (const device of this.devices.values()) {
      if (device.online && (device.lastSeen?.getTime() ?? 0) < cutoff) {
        this.logger.log(`${device.id} not seen for ${this.config.devices.offlineAfterSeconds}s: offline`);
        this.setAvailability(device.id, false);
      }
    }
  }

  async renameDevice(deviceId: string, name: string): Promise<DeviceRecord> {
    const device = this.get(deviceId);
    await this.repository.renameDevice(deviceId, name);
    device.name = name;
    this.events.emit('device.registered', { deviceId });
    return device;
  }

  async renameEntity(id: string, name: string): Promise<EntityRecord> {
    const entity = this.getEntity(id);
    await this.repository.renameEntity(id, name);
    entity.name = name;
    this.events.emit('device.registered', { deviceId: entity.deviceId });
    return entity;
  }

  /**
   * Takes a device out of the registry. Its history is deleted with purge, and kept
   * otherwise. A device that is still sending comes back with its next report.
   */
  async remove(deviceId: string, purge: boolean): Promise<void> {
    const device = this.get(deviceId);
    await this.repository.remove(deviceId, purge);
    this.forget(device, purge);
    this.logger.log(`removed device ${deviceId} ${purge ? 'and its history' : 'and kept its history'}`);
  }

  private forget(device: DeviceRecord, historyPurged: boolean): void {
    const entities = [...device.entities.values()];
    for (const entity of entities) this.entitiesById.delete(entity.id);
    this.devices.delete(device.id);
    this.events.emit('device.removed', { deviceId: device.id, entityRefs: historyPurged ? entities.map((e) => e.ref) : [] });
  }

  /** Deletes a plugin's devices with all their history; returns their ids. */
  async purgePlugin(pluginId: string): Promise<string[]> {
    const ids = await this.repository.deleteByPlugin(pluginId);
    for (const id of ids) {
      const device = this.devices.get(id);
      if (device) this.forget(device, true);
      this.registrations.delete(id);
    }
    if (ids.length > 0) this.logger.log(`purged ${ids.length} devices of plugin ${pluginId} with their history: ${ids.join(', ')}`);
    return ids;
  }

  setCommandHandler(pluginId: string, handler: CommandHandler | undefined): void {
    if (handler) this.commandHandlers.set(pluginId, handler);
    else this.commandHandlers.delete(pluginId);
  }

  /** Sends a command to an entity through its plugin; resolves once the device accepted it. */
  async command(id: string, command: CommandValue): Promise<void> {
    const entity = this.getEntity(id);
    if (READ_ONLY_KINDS.has(entity.kind)) throw new ReadOnlyEntityError(`${id} is a ${entity.kind} and accepts no commands`);
    const device = this.get(entity.deviceId);
    const handler = this.commandHandlers.get(device.pluginId);
    if (!handler) throw new NotFoundError(`plugin "${device.pluginId}" of ${device.id} is not loaded`);
    await handler({ deviceId: device.id, entityKey: entity.key, command });
  }
}
