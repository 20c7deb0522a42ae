import type { StateValue } from '@ninho/plugin-sdk';

/** Every event on the bus and its payload type. */
export interface NinhoEvents {
  'entity.state': {
    entityId: string;
    entityRef: number;
    deviceId: string;
    entityKey: string;
    state: StateValue;
    at: Date;
  };
  'device.availability': { deviceId: string; online: boolean; at: Date };
  'device.registered': { deviceId: string };
  /** entityRefs: the entities whose history went with the device; empty when it was kept. */
  'device.removed': { deviceId: string; entityRefs: number[] };
  /** A request to coap://<ninho>/hooks/<path>, for rules' CoAP triggers. */
  'coap.hook': { path: string; method: string; payload: string };
  /** A step of a plugin install, for progress displays (dashboard, CLI). */
  'plugin.progress': { installId: string; stage: 'fetch' | 'validate' | 'dependencies' | 'activate' | 'done' | 'failed'; message: string };
}

export type EventName = keyof NinhoEvents;
