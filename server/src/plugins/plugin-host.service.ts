import fs from 'node:fs';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CommandError, PLUGIN_API_VERSION, type CommandRequest, type NinhoPlugin, type PluginContext } from '@ninho/plugin-sdk';
import semver from 'semver';
import { z } from 'zod';
import { BrokerService } from '../broker/broker.service';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { formatIssues } from '../config/config.loader';
import { DeviceService } from '../devices/device.service';
import { BUNDLED_PLUGINS_DIR } from '../paths';
import { NotFoundError } from '../devices/device.errors';
import { PluginConflictError, PluginValidationError } from './plugin.errors';
import { PluginObjectSchema, PluginPackageSchema, type PluginManifest } from './plugin-manifest.schema';
import { PluginSettingsRepository, type PluginSetting } from './plugin-settings.repository';

export type PluginStatus = 'active' | 'failed' | 'disabled';
/** bundled: ships in plugins/; extra: from plugins.dirs; installed: under <data dir>/plugins. */
export type PluginSource = 'bundled' | 'extra' | 'installed';

/** What the host knows of a plugin package before and after loading it. */
interface PluginState {
  id: string;
  version: string;
  dir: string;
  source: PluginSource;
  displayName: string;
  models: string[];
  status: PluginStatus;
  error?: string;
}

export interface PluginInfo extends PluginState {
  /** The JSON Schema of the plugin's options, for forms; null when it takes none or its manifest is invalid. */
  optionsSchema: Record<string, unknown> | null;
  /** The options as set (settings from the dashboard, else ninho.yaml), without schema defaults. */
  options: Record<string, unknown>;
}

interface LoadedPlugin extends PluginState {
  manifest?: PluginManifest;
  plugin?: NinhoPlugin;
  context?: PluginContext;
  /** Subscriptions and timers to undo when the plugin stops. */
  cleanups: Set<() => void>;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A setup that never settles must not hold up the server's start. */
function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Finds plugin packages, validates their manifests, and runs them against a
 * PluginContext. A plugin that fails in load, setup, decode or a command is logged
 * under its id and disabled; the server and the other plugins carry on.
 */
@Injectable()
export class PluginHostService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Plugins');
  private readonly plugins = new Map<string, LoadedPlugin>();
  private settings = new Map<string, PluginSetting>();

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly broker: BrokerService,
    private readonly devices: DeviceService,
    private readonly settingsRepository: PluginSettingsRepository,
  ) {}

  /** Where plugins installed at run time live: inside the data dir, so they outlive upgrades of ninho. */
  get installedDir(): string {
    return path.join(this.config.dataDir, 'plugins');
  }

  async onModuleInit(): Promise<void> {
    this.settings = await this.settingsRepository.loadAll();
    fs.mkdirSync(this.installedDir, { recursive: true });
    const roots: Array<[string, PluginSource]> = [
      [BUNDLED_PLUGINS_DIR, 'bundled'],
      ...this.config.plugins.dirs.map((dir): [string, PluginSource] => [dir, 'extra']),
      [this.installedDir, 'installed'],
    ];
    for (const [root, source] of roots) {
      for (const dir of this.packageDirs(root)) await this.load(dir, source);
    }
    const active = [...this.plugins.values()].filter((p) => p.status === 'active').map((p) => p.id);
    this.logger.log(`${active.length} plugins active${active.length ? `: ${active.join(', ')}` : ''}`);
  }

  async onModuleDestroy(): Promise<void> {
    for (const plugin of this.plugins.values()) await this.stop(plugin);
  }

  list(): PluginInfo[] {
    return [...this.plugins.values()].map((plugin) => this.info(plugin));
  }

  private info({ id, version, dir, source, displayName, models, status, error, manifest }: LoadedPlugin): PluginInfo {
    return {
      id,
      version,
      dir,
      source,
      displayName,
      models,
      status,
      ...(error === undefined ? {} : { error }),
      optionsSchema: manifest?.options ?? null,
      options: this.configuredOptions(id),
    };
  }

  private configuredOptions(id: string): Record<string, unknown> {
    return this.settings.get(id)?.options ?? this.config.plugins.options[id] ?? {};
  }

  get(id: string): PluginInfo {
    return this.info(this.find(id));
  }

  private find(id: string): LoadedPlugin {
    const plugin = this.plugins.get(id);
    if (!plugin) throw new NotFoundError(`no plugin "${id}"`);
    return plugin;
  }

  /** Stops a plugin and forgets its code, so that a new version in the same folder loads afresh. */
  async unload(id: string): Promise<void> {
    const plugin = this.find(id);
    await this.stop(plugin);
    this.plugins.delete(id);
    const prefix = `${path.resolve(plugin.dir)}${path.sep}`;
    for (const key of Object.keys(require.cache)) if (key.startsWith(prefix)) delete require.cache[key];
  }

  async setEnabled(id: string, enabled: boolean): Promise<PluginInfo> {
    const plugin = this.find(id);
    const setting = { ...this.settings.get(id), enabled };
    await this.settingsRepository.save(id, setting);
    this.settings.set(id, setting);
    if (!enabled) {
      await this.stop(plugin);
      plugin.status = 'disabled';
      plugin.error = undefined;
      this.logger.log(`plugin ${id} disabled`);
      return this.info(plugin);
    }
    if (plugin.status === 'active') return this.info(plugin);
    await this.unload(id);
    return (await this.load(plugin.dir, plugin.source)) ?? this.info(plugin);
  }

  /** Validates options against the plugin's schema, stores them, and restarts the plugin with them. */
  async setOptions(id: string, options: Record<string, unknown>): Promise<PluginInfo> {
    const plugin = this.find(id);
    if (!plugin.manifest) throw new PluginConflictError(`plugin ${id} has no valid manifest to check options against`);
    const checked = this.validateOptions(plugin.manifest, options);
    if (!checked.success) throw new PluginValidationError(`invalid options for ${id}`, checked.issues);
    const setting = { enabled: this.settings.get(id)?.enabled ?? true, options };
    await this.settingsRepository.save(id, setting);
    this.settings.set(id, setting);
    if (plugin.status !== 'active') return this.info(plugin);
    await this.unload(id);
    return (await this.load(plugin.dir, plugin.source)) ?? this.info(plugin);
  }

  async forgetSettings(id: string): Promise<void> {
    this.settings.delete(id);
    await this.settingsRepository.remove(id);
  }

  private packageDirs(root: string): string[] {
    if (!fs.existsSync(root)) {
      this.logger.warn(`plugin folder ${root} does not exist`);
      return [];
    }
    return fs
      .readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && fs.existsSync(path.join(root, entry.name, 'package.json')))
      .map((entry) => path.join(root, entry.name))
      .sort();
  }

  /** Loads and starts one plugin package; never throws. */
  async load(dir: string, source: PluginSource): Promise<PluginInfo | undefined> {
    let pkgJson: unknown;
    try {
      pkgJson = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch (error) {
      this.logger.error(`plugin at ${dir}: unreadable package.json: ${describe(error)}`);
      return undefined;
    }
    // Packages without a manifest (such as the SDK) are not plugins.
    if (typeof pkgJson !== 'object' || pkgJson === null || !('ninho' in pkgJson)) return undefined;
    const fallbackId = path.basename(dir);
    const parsed = PluginPackageSchema.safeParse(pkgJson);
    if (!parsed.success) {
      return this.reject(
        { id: fallbackId, version: '?', dir, source, displayName: fallbackId, models: [], status: 'failed' },
        `invalid manifest: ${formatIssues(parsed.error.issues).join('; ')}`,
      );
    }
    const { version, main, ninho: manifest } = parsed.data;
    const info: PluginState = {
      id: manifest.id,
      version,
      dir,
      source,
      displayName: manifest.displayName ?? manifest.id,
      models: manifest.models,
      status: 'failed',
    };
    if (this.plugins.get(manifest.id)?.status === 'active') {
      return this.reject({ ...info, id: `${manifest.id}@${dir}` }, `duplicate plugin id "${manifest.id}"`);
    }
    if (!semver.satisfies(PLUGIN_API_VERSION, manifest.apiVersion)) {
      return this.reject(info, `targets plugin API ${manifest.apiVersion}, but this server provides ${PLUGIN_API_VERSION}`);
    }
    const setting = this.settings.get(manifest.id);
    if (setting?.enabled === false) {
      this.plugins.set(manifest.id, { ...info, manifest, status: 'disabled', cleanups: new Set() });
      this.logger.log(`plugin ${manifest.id} is disabled`);
      return this.get(manifest.id);
    }
    const options = this.validateOptions(manifest, this.configuredOptions(manifest.id));
    if (!options.success)
      return this.reject(info, `invalid options: ${options.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, manifest);

    let plugin: NinhoPlugin;
    try {
      // Plugins are CommonJS packages loaded by path at run time; there is no static import to use.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.resolve(dir, main)) as { default?: unknown };
      const candidate = mod.default ?? mod;
      const shape = PluginObjectSchema.safeParse(candidate);
      if (!shape.success)
        return this.reject(info, `default export is not a plugin: ${formatIssues(shape.error.issues).join('; ')}`, manifest);
      plugin = candidate as NinhoPlugin;
    } catch (error) {
      return this.reject(info, `failed to load: ${describe(error)}`, manifest);
    }

    const loaded: LoadedPlugin = { ...info, manifest, status: 'active', plugin, cleanups: new Set() };
    loaded.context = this.createContext(loaded, options.data);
    this.plugins.set(manifest.id, loaded);
    try {
      const { setupTimeoutMs } = this.config.plugins;
      await withTimeout(Promise.resolve(plugin.setup(loaded.context)), setupTimeoutMs, `setup did not finish within ${setupTimeoutMs} ms`);
    } catch (error) {
      await this.fail(loaded, 'setup', error);
      return this.list().find((p) => p.id === manifest.id);
    }
    if (plugin.command) this.devices.setCommandHandler(loaded.id, (request) => this.runCommand(loaded, request));
    this.logger.log(`loaded ${loaded.id}@${version} (${manifest.models.join(', ')})`);
    return this.list().find((p) => p.id === manifest.id);
  }

  private validateOptions(
    manifest: PluginManifest,
    input: unknown,
  ): { success: true; data: Record<string, unknown> } | { success: false; issues: Array<{ path: string; message: string }> } {
    if (!manifest.options) return { success: true, data: {} };
    let schema: z.ZodType;
    try {
      schema = z.fromJSONSchema(manifest.options);
    } catch (error) {
      return { success: false, issues: [{ path: 'ninho.options', message: `not valid JSON Schema: ${describe(error)}` }] };
    }
    const result = schema.safeParse(input);
    if (!result.success) {
      return {
        success: false,
        issues: result.error.issues.map((i) => ({ path: ['options', ...i.path.map(String)].join('.'), message: i.message })),
      };
    }
    return { success: true, data: (result.data ?? {}) as Record<string, unknown> };
  }

  private reject(state: PluginState, reason: string, manifest?: PluginManifest): PluginInfo {
    this.logger.error(`plugin ${state.id} disabled: ${reason}`);
    const failed: LoadedPlugin = { ...state, ...(manifest ? { manifest } : {}), status: 'failed', error: reason, cleanups: new Set() };
    if (this.plugins.get(state.id)?.status !== 'active') this.plugins.set(state.id, failed);
    return this.info(failed);
  }

  private async fail(plugin: LoadedPlugin, phase: string, error: unknown): Promise<void> {
    if (plugin.status !== 'active') return;
    plugin.error = `threw during ${phase}: ${describe(error)}`;
    this.logger.error(`plugin ${plugin.id} disabled: ${plugin.error}`);
    await this.stop(plugin);
    plugin.status = 'failed';
  }

  private async stop(plugin: LoadedPlugin): Promise<void> {
    this.devices.setCommandHandler(plugin.id, undefined);
    for (const cleanup of plugin.cleanups) cleanup();
    plugin.cleanups.clear();
    if (plugin.status === 'active') {
      plugin.status = 'disabled';
      try {
        await plugin.plugin?.teardown?.();
      } catch (error) {
        this.logger.warn(`plugin ${plugin.id} threw during teardown: ${describe(error)}`);
      }
    }
  }

  private async runCommand(plugin: LoadedPlugin, request: CommandRequest): Promise<void> {
    if (plugin.status !== 'active' || !plugin.plugin?.command || !plugin.context) {
      throw new CommandError(`plugin ${plugin.id} is not active`, 'unsupported');
    }
    try {
      await plugin.plugin.command(request, plugin.context);
    } catch (error) {
      if (error instanceof CommandError) throw error;
      await this.fail(plugin, 'command', error);
      throw new CommandError(`plugin ${plugin.id} failed and is disabled: ${describe(error)}`, 'failed');
    }
  }

  private createContext(plugin: LoadedPlugin, options: Record<string, unknown>): PluginContext {
    const logger = new Logger(`plugin:${plugin.id}`);
    const track = (cleanup: () => void): (() => void) => {
      plugin.cleanups.add(cleanup);
      return () => {
        plugin.cleanups.delete(cleanup);
        cleanup();
      };
    };
    // Handlers typed as returning void may still be async functions: a rejection counts too.
    const guard = (phase: string, fn: () => unknown): void => {
      if (plugin.status !== 'active') return;
      try {
        const result = fn();
        if (result instanceof Promise) void result.catch((error: unknown) => this.fail(plugin, phase, error));
      } catch (error) {
        void this.fail(plugin, phase, error);
      }
    };
    return {
      pluginId: plugin.id,
      options,
      logger: {
        debug: (m) => logger.debug(m),
        info: (m) => logger.log(m),
        warn: (m) => logger.warn(m),
        error: (m) => logger.error(m),
      },
      mqtt: {
        subscribe: (filter, onMessage) =>
          track(this.broker.subscribe(filter, (message) => guard(`decode of ${message.topic}`, () => onMessage(message)))),
        publish: (topic, payload, publishOptions) => this.broker.publish(topic, payload, publishOptions),
      },
      devices: {
        register: (device) => this.devices.register(plugin.id, device),
        report: (deviceId, states, at) => this.devices.report(deviceId, states, at),
        setAvailability: (deviceId, online) => this.devices.setAvailability(deviceId, online),
      },
      timers: {
        setTimeout: (callback, ms) => {
          const timer = setTimeout(() => {
            plugin.cleanups.delete(cancel);
            guard('timer', callback);
          }, ms);
          const cancel = (): void => clearTimeout(timer);
          return track(cancel);
        },
        setInterval: (callback, ms) => {
          const timer = setInterval(() => guard('timer', callback), ms);
          return track(() => clearInterval(timer));
        },
      },
    };
  }
}
