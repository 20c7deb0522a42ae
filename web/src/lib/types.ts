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
  transport: 'mqtt' | 'coap' | 'serial';
  model?: string | null;
  manufacturer?: string | null;
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
  | { type: 'plugin-progress'; installId: string; stage: InstallStage; message: string };

export type InstallStage = 'fetch' | 'validate' | 'dependencies' | 'activate' | 'done' | 'failed';

/** GET /api/plugins (server/src/plugins/plugin-host.service.ts). */
export interface PluginInfo {
  id: string;
  version: string;
  source: 'bundled' | 'extra' | 'installed';
  displayName: string;
  models: string[];
  status: 'active' | 'failed' | 'disabled';
  error?: string;
  optionsSchema: JsonSchema | null;
  options: Record<string, unknown>;
}

/** The part of JSON Schema that plugin option forms are generated from. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** GET /api/rules (server/src/rules/rule.service.ts); the definition is edited as YAML. */
export interface RuleView {
  id: string;
  name: string;
  enabled: boolean;
  source: 'api' | 'file';
  file?: string;
  runsInProgress: number;
  definition: Record<string, unknown> & { mode: string; triggers: Array<Record<string, unknown>> };
  createdAt: string;
  updatedAt: string;
}

/** GET /api/rules/:id/runs. */
export interface RuleRunView {
  id: string;
  startedAt: number;
  finishedAt: number | null;
  status: 'running' | 'waiting' | 'done' | 'failed' | 'not-met' | 'skipped' | 'dropped' | 'aborted' | 'loop';
  trigger: { type: string; description: string; payload?: string };
  trace: {
    conditions: Array<{ path: string; type: string; passed: boolean; detail: string }>;
    actions: Array<{ path: string; type: string; startedAt: number; finishedAt?: number; result?: string; error?: string }>;
    reason?: string;
  };
}
