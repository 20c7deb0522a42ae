import type { DeviceRecord, EntityRecord } from './device.types';

/** The JSON shape of an entity and its state, shared by REST, CoAP and the live stream. */
export function entityState(entity: EntityRecord) {
  return {
    id: entity.id,
    key: entity.key,
    name: entity.name,
    kind: entity.kind,
    unit: entity.unit,
    deviceClass: entity.deviceClass,
    state: entity.state ?? null,
    at: entity.stateAt?.toISOString() ?? null,
  };
}

export function deviceSummary(device: DeviceRecord) {
  return {
    id: device.id,
    name: device.name,
    pluginId: device.pluginId,
    transport: device.transport,
    model: device.model,
    manufacturer: device.manufacturer,
    online: device.online,
    lastSeen: device.lastSeen?.toISOString() ?? null,
    entities: [...device.entities.values()].map(entityState),
  };
}

export type EntityView = ReturnType<typeof entityState>;
export type DeviceView = ReturnType<typeof deviceSummary>;
