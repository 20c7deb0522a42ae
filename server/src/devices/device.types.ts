import type { CommandValue, EntityKind, StateValue, Transport } from '@ninho/plugin-sdk';

export interface EntityRecord {
  ref: number;
  id: string;
  deviceId: string;
  key: string;
  name: string;
  kind: EntityKind;
  unit: string | null;
  deviceClass: string | null;
  /** Known only once the owning plugin registered the entity in this run. */
  commands?: readonly CommandValue[] | 'any';
  state: StateValue | undefined;
  stateAt: Date | null;
}

export interface DeviceRecord {
  id: string;
  name: string;
  pluginId: string;
  transport: Transport;
  model: string | null;
  manufacturer: string | null;
  online: boolean;
  lastSeen: Date | null;
  entities: Map<string, EntityRecord>;
}

export type CommandHandler = (request: { deviceId: string; entityKey: string; command: CommandValue }) => Promise<void>;

export function entityId(deviceId: string, key: string): string {
  return `${deviceId}.${key}`;
}
