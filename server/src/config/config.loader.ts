import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { StartupError } from '../startup-error';
import { ConfigSchema, type Config } from './config.schema';

/** A configuration that failed validation; `issues` are `path: message` lines. */
export class ConfigError extends StartupError {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`invalid configuration (${source}):\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Env var → config path. The env always wins over ninho.yaml. */
const ENV_KEYS: Record<string, readonly string[]> = {
  NINHO_DATA_DIR: ['dataDir'],
  NINHO_HOST: ['host'],
  NINHO_LOG_LEVEL: ['logLevel'],
  NINHO_HTTP_PORT: ['http', 'port'],
  NINHO_MQTT_PORT: ['mqtt', 'port'],
  NINHO_MQTT_ALLOW_ANONYMOUS: ['mqtt', 'allowAnonymous'],
  NINHO_MQTT_TLS_PORT: ['mqtt', 'tls', 'port'],
  NINHO_MQTT_TLS_CERT: ['mqtt', 'tls', 'cert'],
  NINHO_MQTT_TLS_KEY: ['mqtt', 'tls', 'key'],
  NINHO_MQTT_TLS_CA: ['mqtt', 'tls', 'ca'],
  NINHO_COAP_PORT: ['coap', 'port'],
  NINHO_PLUGIN_SETUP_TIMEOUT_MS: ['plugins', 'setupTimeoutMs'],
  NINHO_DEVICE_OFFLINE_AFTER_SECONDS: ['devices', 'offlineAfterSeconds'],
  NINHO_HISTORY_FLUSH_INTERVAL_MS: ['history', 'flushIntervalMs'],
  NINHO_HISTORY_FLUSH_ROWS: ['history', 'flushRows'],
  NINHO_TEST_CLOCK: ['testClock'],
};

type Tree = Record<string, unknown>;

function setPath(tree: Tree, keys: readonly string[], value: unknown): void {
  let node = tree;
  keys.slice(0, -1).forEach((key) => {
    const next = node[key];
    node = (node[key] = typeof next === 'object' && next !== null ? next : {}) as Tree;
  });
  const last = keys[keys.length - 1];
  if (last !== undefined) node[last] = value;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string[] {
  return issues.map((issue) => {
    const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${where || '(root)'}: ${issue.message}`;
  });
}

function readYaml(file: string): Tree {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read: ${(error as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`]);
  }
  if (parsed == null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(file, ['(root): expected a mapping']);
  return parsed as Tree;
}

/**
 * Builds the config from NINHO_CONFIG (or ./ninho.yaml when present) and NINHO_* env vars.
 * NINHO_PLUGIN_DIRS is a path-delimiter separated list.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const explicit = env['NINHO_CONFIG'];
  const file = explicit ? path.resolve(cwd, explicit) : path.join(cwd, 'ninho.yaml');
  const tree: Tree = explicit || fs.existsSync(file) ? readYaml(file) : {};
  const sources = [explicit || fs.existsSync(file) ? file : undefined, 'env'].filter(Boolean).join(' + ');

  for (const [name, keys] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(tree, keys, value);
  }
  const pluginDirs = env['NINHO_PLUGIN_DIRS'];
  if (pluginDirs) setPath(tree, ['plugins', 'dirs'], pluginDirs.split(path.delimiter).filter(Boolean));

  const result = ConfigSchema.safeParse(tree);
  if (!result.success) throw new ConfigError(sources, formatIssues(result.error.issues));
  const config = result.data;
  const { tls } = config.mqtt;
  return {
    ...config,
    dataDir: path.resolve(cwd, config.dataDir),
    mqtt: {
      ...config.mqtt,
      ...(tls && {
        tls: {
          ...tls,
          cert: path.resolve(cwd, tls.cert),
          key: path.resolve(cwd, tls.key),
          ...(tls.ca !== undefined && { ca: path.resolve(cwd, tls.ca) }),
        },
      }),
    },
  };
}
