/** The shapes /api/devices and /api/live send (server/src/devices/device.view.ts). */
export type StateValue = number | string | boolean | null;

export interface EntityView {
  id: string;
  key: string;
  name: string;
  kind: 'sensor' | 'binary_sensor' | 'switch' | 'cover';
  unit: string | null;
  deviceClass: string | null;
  state: StateValue;
  at: string | null;
}

export interface DeviceView {
  id: string;
  name: string;
  pluginId: string;
  transport: string;
  online: boolean;
  lastSeen: string | null;
  entities: EntityView[];
}

export type LiveMessage =
  | { type: 'snapshot'; devices: DeviceView[] }
  | { type: 'state'; entityId: string; deviceId: string; state: StateValue; at: string }
  | { type: 'availability'; deviceId: string; online: boolean; at: string }
  | { type: 'device'; device: DeviceView }
  | { type: 'device-removed'; deviceId: string }
  | { type: 'plugin-progress'; installId: string; stage: string; message: string };
