import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { extract } from 'tar';
import { DeviceService } from '../devices/device.service';
import { EventBus } from '../events/event-bus';
import type { NinhoEvents } from '../events/event-map';
import { PluginHostService, type PluginInfo } from './plugin-host.service';
import { PluginConflictError, PluginValidationError } from './plugin.errors';
import { PluginPackageSchema } from './plugin-manifest.schema';

export type InstallSource = { type: 'folder'; path: string } | { type: 'npm'; spec: string } | { type: 'tgz'; data: Buffer };

const run = promisify(execFile);
/** Provided by ninho itself to every plugin, never installed from the registry. */
const PROVIDED = ['@ninho/plugin-sdk'];
const SDK_DIR = path.dirname(require.resolve('@ninho/plugin-sdk/package.json'));

/**
 * Installs plugin packages into <data dir>/plugins while the server runs: from a folder,
 * an uploaded .tgz, or an npm spec. Third-party code never runs at install time (npm
 * pack/install with --ignore-scripts); the package is staged, validated, then swapped in
 * and started by the plugin host. Progress goes out as `plugin.progress` events.
 */
@Injectable()
export class PluginInstallerService implements OnModuleInit {
  private readonly logger = new Logger('PluginInstaller');

  constructor(
    private readonly host: PluginHostService,
    private readonly devices: DeviceService,
    private readonly events: EventBus,
  ) {}

  onModuleInit(): void {
    // Installed plugins resolve the SDK from here, by Node's walk up from <data dir>/plugins/<id>.
    const link = path.join(this.host.installedDir, 'node_modules', '@ninho', 'plugin-sdk');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(SDK_DIR, link, 'dir');
    for (const entry of fs.readdirSync(this.host.installedDir)) {
      if (entry.startsWith('.staging-')) fs.rmSync(path.join(this.host.installedDir, entry), { recursive: true, force: true });
    }
  }

  async install(source: InstallSource): Promise<PluginInfo> {
    const installId = randomUUID().slice(0, 8);
    const progress = (stage: NinhoEvents['plugin.progress']['stage'], message: string): void => {
      this.logger.log(`install ${installId}: ${message}`);
      this.events.emit('plugin.progress', { installId, stage, message });
    };
    // A dot-folder, so that a crash half way leaves nothing the host would load.
    const staging = fs.mkdtempSync(path.join(this.host.installedDir, '.staging-'));
    try {
      const dir = await this.fetch(source, staging, progress);
      progress('validate', 'checking the package and its ninho manifest');
      const pkg = this.readPackage(dir);
      const existing = this.host.list().find((p) => p.id === pkg.id);
      if (existing && existing.source !== 'installed') {
        throw new PluginConflictError(`"${pkg.id}" is a ${existing.source} plugin; disable it rather than install over it`);
      }
      await this.installDependencies(dir, pkg.dependencies, progress);
      progress('activate', `${existing ? `updating ${pkg.id} ${existing.version} to` : 'starting'} ${pkg.id}@${pkg.version}`);
      const target = path.join(this.host.installedDir, pkg.id);
      if (existing) await this.host.unload(pkg.id);
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(dir, target);
      const info = (await this.host.load(target, 'installed')) ?? this.host.get(pkg.id);
      progress(
        'done',
        info.status === 'active' ? `${pkg.id}@${pkg.version} is active` : `${pkg.id} installed but ${info.status}: ${info.error ?? ''}`,
      );
      return info;
    } catch (error) {
      progress('failed', error instanceof Error ? error.message : String(error));
      throw error;
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }

  /** Puts the package's files in a folder of the staging area and returns it. */
  private async fetch(source: InstallSource, staging: string, progress: (stage: 'fetch', message: string) => void): Promise<string> {
    const dir = path.join(staging, 'package');
    switch (source.type) {
      case 'folder': {
        progress('fetch', `copying ${source.path}`);
        if (!fs.existsSync(path.join(source.path, 'package.json'))) {
          throw new PluginValidationError('not a plugin package', [{ path: 'path', message: `no package.json in ${source.path}` }]);
        }
        fs.cpSync(source.path, dir, { recursive: true, filter: (file) => path.basename(file) !== '.git' });
        return dir;
      }
      case 'tgz': {
        progress('fetch', `unpacking an uploaded package of ${source.data.length} bytes`);
        const file = path.join(staging, 'upload.tgz');
        fs.writeFileSync(file, source.data);
        return this.unpack(file, staging);
      }
      case 'npm': {
        progress('fetch', `downloading ${source.spec} from the npm registry`);
        const { stdout } = await run('npm', ['pack', source.spec, '--json', '--ignore-scripts', '--pack-destination', staging], {
          cwd: staging,
          timeout: 120_000,
        }).catch((error: { stderr?: string; message: string }) => {
          throw new PluginValidationError('cannot download', [{ path: 'spec', message: lastLine(error.stderr) ?? error.message }]);
        });
        const packed = (JSON.parse(stdout) as Array<{ filename: string }>)[0]?.filename;
        if (!packed)
          throw new PluginValidationError('cannot download', [{ path: 'spec', message: `npm pack gave no file for ${source.spec}` }]);
        return this.unpack(path.join(staging, packed), staging);
      }
    }
  }

  /** npm pack puts everything under package/; a hand-made tarball may not. */
  private async unpack(file: string, staging: string): Promise<string> {
    const out = path.join(staging, 'unpacked');
    fs.mkdirSync(out);
    try {
      await extract({ file, cwd: out, strict: true });
    } catch (error) {
      throw new PluginValidationError('not a .tgz package', [
        { path: 'package', message: error instanceof Error ? error.message : String(error) },
      ]);
    }
    const entries = fs.readdirSync(out);
    const only = entries.length === 1 ? path.join(out, entries[0] ?? '') : undefined;
    return only && fs.statSync(only).isDirectory() ? only : out;
  }

  private readPackage(dir: string): { id: string; version: string; dependencies: Record<string, string> } {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch (error) {
      throw new PluginValidationError('not a plugin package', [
        { path: 'package.json', message: error instanceof Error ? error.message : String(error) },
      ]);
    }
    const parsed = PluginPackageSchema.safeParse(json);
    if (!parsed.success) {
      throw new PluginValidationError(
        'not a ninho plugin package',
        parsed.error.issues.map((i) => ({ path: ['package.json', ...i.path.map(String)].join('.'), message: i.message })),
      );
    }
    const dependencies = ((json as { dependencies?: unknown }).dependencies ?? {}) as Record<string, string>;
    return { id: parsed.data.ninho.id, version: parsed.data.version, dependencies };
  }

  private async installDependencies(
    dir: string,
    dependencies: Record<string, string>,
    progress: (stage: 'dependencies', message: string) => void,
  ): Promise<void> {
    const needed = Object.keys(dependencies).filter(
      (name) => !PROVIDED.includes(name) && !fs.existsSync(path.join(dir, 'node_modules', name)),
    );
    if (needed.length === 0) return;
    progress('dependencies', `installing ${needed.join(', ')} without install scripts`);
    // npm would look for the provided packages on the registry, so they leave package.json meanwhile.
    const file = path.join(dir, 'package.json');
    const original = fs.readFileSync(file, 'utf8');
    const pkg = JSON.parse(original) as { dependencies?: Record<string, string>; devDependencies?: unknown };
    pkg.dependencies = Object.fromEntries(Object.entries(dependencies).filter(([name]) => !PROVIDED.includes(name)));
    delete pkg.devDependencies;
    fs.writeFileSync(file, JSON.stringify(pkg));
    try {
      await run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], {
        cwd: dir,
        timeout: 300_000,
      });
    } catch (error) {
      throw new PluginValidationError('cannot install dependencies', [
        { path: 'dependencies', message: lastLine((error as { stderr?: string }).stderr) ?? String(error) },
      ]);
    } finally {
      fs.writeFileSync(file, original);
    }
  }

  /** Removes an installed plugin; its devices and their history stay unless `purge` is set. */
  async remove(id: string, purge: boolean): Promise<{ id: string; purgedDevices: string[] }> {
    const info = this.host.get(id);
    if (info.source !== 'installed') throw new PluginConflictError(`"${id}" is a ${info.source} plugin: it can be disabled, not removed`);
    await this.host.unload(id);
    fs.rmSync(info.dir, { recursive: true, force: true });
    await this.host.forgetSettings(id);
    const purgedDevices = purge ? await this.devices.purgePlugin(id) : [];
    this.logger.log(
      `removed ${id}${purge ? ` and ${purgedDevices.length} devices with their history` : '; its devices and history are kept'}`,
    );
    return { id, purgedDevices };
  }
}

function lastLine(text: string | undefined): string | undefined {
  return text?.trim().split('\n').filter(Boolean).at(-1);
}
