import { Injectable } from '@nestjs/common';
import type { DeviceDescriptor, EntityKind, StateValue, Transport } from '@ninho/plugin-sdk';
import { PrismaService } from '../database/prisma.service';
import type { Device, Entity } from '../generated/prisma/client';
import { entityId, type DeviceRecord, type EntityRecord } from './device.types';

function decodeState(json: string | null): StateValue | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as StateValue;
  } catch {
    return undefined;
  }
}

type DeviceRow = Device & { entities: Entity[] };

/** Entities in the order they were first registered, which is the order their plugin lists them in. */
const ENTITIES_IN_ORDER = { entities: { orderBy: { ref: 'asc' } } } as const;

function toRecord(device: DeviceRow): DeviceRecord {
  return {
    id: device.id,
    name: device.name,
    pluginId: device.pluginId,
    transport: device.transport as Transport,
    model: device.model,
    manufacturer: device.manufacturer,
    online: device.online,
    lastSeen: device.lastSeen,
    entities: new Map(
      device.entities.map((entity): [string, EntityRecord] => [
        entity.key,
        {
          ref: entity.ref,
          id: entity.id,
          deviceId: entity.deviceId,
          key: entity.key,
          name: entity.name,
          kind: entity.kind as EntityKind,
          unit: entity.unit,
          deviceClass: entity.deviceClass,
          state: decodeState(entity.state),
          stateAt: entity.stateAt,
        },
      ]),
    ),
  };
}

/** All device and entity I/O. Latest states and last-seen times are written by the history writer. */
@Injectable()
export class DeviceRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Every device in the registry; devices removed with their history kept stay out. */
  async loadAll(): Promise<DeviceRecord[]> {
    const devices = await this.prisma.device.findMany({ where: { removedAt: null }, include: ENTITIES_IN_ORDER, orderBy: { id: 'asc' } });
    return devices.map(toRecord);
  }

  async load(deviceId: string): Promise<DeviceRecord | undefined> {
    const device = await this.prisma.device.findUnique({ where: { id: deviceId }, include: ENTITIES_IN_ORDER });
    return device ? toRecord(device) : undefined;
  }

  /** Upserts the device and each entity; returns the entity refs by key. */
  async upsert(pluginId: string, descriptor: DeviceDescriptor): Promise<Map<string, number>> {
    const { id, name, transport, model, manufacturer } = descriptor;
    return this.prisma.$transaction(async (tx) => {
      await tx.device.upsert({
        where: { id },
        create: { id, name, pluginId, transport, model: model ?? null, manufacturer: manufacturer ?? null },
        // A user's rename survives re-registration: the name is only set on create. A device
        // removed with its history kept is back in the registry once its plugin registers it.
        update: { pluginId, transport, model: model ?? null, manufacturer: manufacturer ?? null, removedAt: null },
      });
      const refs = new Map<string, number>();
      for (const entity of descriptor.entities) {
        const data = { kind: entity.kind, unit: entity.unit ?? null, deviceClass: entity.deviceClass ?? null };
        const row = await tx.entity.upsert({
          where: { id: entityId(id, entity.key) },
          create: { id: entityId(id, entity.key), deviceId: id, key: entity.key, name: entity.name, ...data },
          update: data,
          select: { ref: true },
        });
        refs.set(entity.key, row.ref);
      }
      return refs;
    });
  }

  /** Deletes the devices of a plugin; entities, readings and rollups go with them (ON DELETE CASCADE). */
  async deleteByPlugin(pluginId: string): Promise<string[]> {
    const devices = await this.prisma.device.findMany({ where: { pluginId }, select: { id: true } });
    await this.prisma.device.deleteMany({ where: { pluginId } });
    return devices.map((d) => d.id);
  }

  async renameDevice(deviceId: string, name: string): Promise<void> {
    await this.prisma.device.update({ where: { id: deviceId }, data: { name } });
  }

  async renameEntity(id: string, name: string): Promise<void> {
    await this.prisma.entity.update({ where: { id }, data: { name } });
  }

  /** Takes the device out of the registry; with purge its entities, readings and rollups are deleted too. */
  async remove(deviceId: string, purge: boolean): Promise<void> {
    if (purge) await this.prisma.device.delete({ where: { id: deviceId } });
    else await this.prisma.device.update({ where: { id: deviceId }, data: { removedAt: new Date(), online: false } });
  }

  async setAvailability(deviceId: string, online: boolean, at: Date): Promise<void> {
    await this.prisma.device.update({ where: { id: deviceId }, data: online ? { online, lastSeen: at } : { online } });
  }
}
