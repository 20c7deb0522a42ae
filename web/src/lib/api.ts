import type { DeviceView, EntityView, PluginInfo, RuleRunView, RuleView } from './types';

export interface FieldError {
  path: string;
  message: string;
}

/** A failed request, with a message a person can read and, for a refused body, each error by path. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Every request of the dashboard goes through here, so every failure reads the same way. */
export async function request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      ...(body === undefined
        ? {}
        : body instanceof FormData
          ? { body }
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError('ninho cannot be reached; is the server running?', 0);
  }
  const parsed = (await response.json().catch(() => undefined)) as unknown;
  if (!response.ok) {
    const problem = (parsed ?? {}) as { message?: unknown; errors?: unknown };
    const message = typeof problem.message === 'string' ? problem.message : `the request failed (HTTP ${response.status})`;
    throw new ApiError(message, response.status, Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : []);
  }
  if (response.status === 204) return undefined as T;
  if (parsed === undefined) throw new ApiError(`ninho sent an unreadable answer (HTTP ${response.status})`, response.status);
  return parsed as T;
}

/** The message to show for anything thrown by a request or by code around it. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const at = (kind: 'devices' | 'entities' | 'plugins', id: string): string => `/api/${kind}/${encodeURIComponent(id)}`;

export const sendCommand = (entityId: string, command: string): Promise<unknown> =>
  request('POST', `${at('entities', entityId)}/command`, { command });

export const renameDevice = (id: string, name: string): Promise<DeviceView> => request('PATCH', at('devices', id), { name });

export const renameEntity = (id: string, name: string): Promise<EntityView> => request('PATCH', at('entities', id), { name });

export const removeDevice = (id: string, history: 'keep' | 'purge'): Promise<unknown> =>
  request('DELETE', `${at('devices', id)}?history=${history}`);

export const listPlugins = (): Promise<PluginInfo[]> => request('GET', '/api/plugins');

export function installPlugin(from: { spec: string } | { file: File }): Promise<PluginInfo> {
  if ('spec' in from) return request('POST', '/api/plugins', { source: 'npm', spec: from.spec });
  const form = new FormData();
  form.append('package', from.file, from.file.name);
  return request('POST', '/api/plugins', form);
}

export const updatePlugin = (id: string, change: { enabled?: boolean; options?: Record<string, unknown> }): Promise<PluginInfo> =>
  request('PATCH', at('plugins', id), change);

export const removePlugin = (id: string, purge: boolean): Promise<unknown> => request('DELETE', `${at('plugins', id)}?purge=${purge}`);

export const listRules = (): Promise<RuleView[]> => request('GET', '/api/rules');

export const validateRule = (yaml: string): Promise<{ valid: true }> => request('POST', '/api/rules/validate', { yaml });

export const createRule = (yaml: string): Promise<RuleView> => request('POST', '/api/rules', { yaml });

export const replaceRule = (id: string, yaml: string): Promise<RuleView> =>
  request('PUT', `/api/rules/${encodeURIComponent(id)}`, { yaml });

export const setRuleEnabled = (id: string, enabled: boolean): Promise<RuleView> =>
  request('PATCH', `/api/rules/${encodeURIComponent(id)}`, { enabled });

export const removeRule = (id: string): Promise<unknown> => request('DELETE', `/api/rules/${encodeURIComponent(id)}`);

export interface ReloadReport {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  problems: Array<{ file: string; path: string; message: string }>;
}

export const reloadRuleFiles = (): Promise<ReloadReport> => request('POST', '/api/rules/reload');

export const runRule = (id: string): Promise<{ runId: string }> => request('POST', `/api/rules/${encodeURIComponent(id)}/run`);

export const ruleRuns = (id: string): Promise<RuleRunView[]> => request('GET', `/api/rules/${encodeURIComponent(id)}/runs?limit=50`);
