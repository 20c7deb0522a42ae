#!/usr/bin/env node
/**
 * `npx ninho plugins list|install|remove`: manages the plugins of a running ninho over its
 * REST API, showing the install's progress as it arrives on /api/live.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import WebSocket from 'ws';

interface PluginInfo {
  id: string;
  version: string;
  source: string;
  status: string;
  error?: string;
}
interface ErrorBody {
  message?: string;
  errors?: Array<{ path: string; message: string }>;
}
interface Progress {
  type: string;
  installId?: string;
  stage?: string;
  message?: string;
}

const STAGES = ['fetch', 'validate', 'dependencies', 'activate', 'done'];

class CliError extends Error {}

async function request<T>(base: string, method: string, pathname: string, body?: FormData, json?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(new URL(pathname, base), {
      method,
      ...(json === undefined
        ? body === undefined
          ? {}
          : { body }
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }),
    });
  } catch (error) {
    throw new CliError(
      `cannot reach ninho at ${base} (${error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error)}); is it running? (--url)`,
    );
  }
  const payload = (await response.json().catch(() => ({}))) as T & ErrorBody;
  if (!response.ok) {
    const details = payload.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('') ?? '';
    throw new CliError(`${payload.message ?? `HTTP ${response.status}`}${details}`);
  }
  return payload;
}

/** Prints each install stage as "[2/5] validate: …" while the request runs. */
async function followProgress(base: string): Promise<() => void> {
  const url = new URL('/api/live', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  await new Promise<void>((resolve) => {
    socket.once('open', () => resolve());
    socket.once('error', () => resolve()); // progress is a nicety; the request still reports the outcome
  });
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as Progress;
    if (message.type !== 'plugin-progress' || !message.stage) return;
    const step = STAGES.indexOf(message.stage);
    const counter = step >= 0 ? `[${step + 1}/${STAGES.length}]` : '[!]';
    process.stdout.write(`${counter} ${message.stage}: ${message.message ?? ''}\n`);
  });
  return () => socket.terminate();
}

function table(plugins: PluginInfo[]): string {
  const rows = [
    ['ID', 'VERSION', 'SOURCE', 'STATUS'],
    ...plugins.map((p) => [p.id, p.version, p.source, p.status + (p.error ? ` (${p.error})` : '')]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')).join('\n');
}

async function install(base: string, what: string): Promise<void> {
  const stop = await followProgress(base);
  try {
    let info: PluginInfo;
    const local = path.resolve(what);
    if (what.endsWith('.tgz') && fs.existsSync(local)) {
      const form = new FormData();
      form.append('package', new Blob([fs.readFileSync(local)]), path.basename(local));
      info = await request<PluginInfo>(base, 'POST', '/api/plugins', form);
    } else if (fs.existsSync(local) && fs.statSync(local).isDirectory()) {
      info = await request<PluginInfo>(base, 'POST', '/api/plugins', undefined, { source: 'folder', path: local });
    } else {
      info = await request<PluginInfo>(base, 'POST', '/api/plugins', undefined, { source: 'npm', spec: what });
    }
    // Let the last progress line arrive before the summary.
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (info.status !== 'active') throw new CliError(`${info.id}@${info.version} installed but ${info.status}: ${info.error ?? ''}`);
    process.stdout.write(`${info.id}@${info.version} installed and active\n`);
  } finally {
    stop();
  }
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('ninho').description('ninho home automation').showHelpAfterError();
  const url = new Option('--url <url>', 'the running ninho').env('NINHO_URL').default('http://127.0.0.1:8080');
  const plugins = program.command('plugins').description('list, install and remove device plugins');
  plugins
    .command('list')
    .description('the plugins and their status')
    .addOption(url)
    .action(async (options: { url: string }) => {
      process.stdout.write(`${table(await request<PluginInfo[]>(options.url, 'GET', '/api/plugins'))}\n`);
    });
  plugins
    .command('install')
    .description('install or update a plugin from a .tgz file, a folder, or an npm package spec')
    .argument('<package>', 'path/to/plugin.tgz, path/to/folder, or an npm spec such as ninho-plugin-x@1')
    .addOption(url)
    .action((what: string, options: { url: string }) => install(options.url, what));
  plugins
    .command('remove')
    .description("remove an installed plugin; its devices' history is kept unless --purge")
    .argument('<id>', 'the plugin id')
    .option('--purge', 'also delete its devices and their history', false)
    .addOption(url)
    .action(async (id: string, options: { url: string; purge: boolean }) => {
      const result = await request<{ purgedDevices: string[] }>(
        options.url,
        'DELETE',
        `/api/plugins/${encodeURIComponent(id)}?purge=${options.purge}`,
      );
      process.stdout.write(
        `${id} removed${options.purge ? `; purged ${result.purgedDevices.length} devices with their history` : "; its devices' history is kept"}\n`,
      );
    });
  await program.parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  process.stderr.write(
    `ninho: ${error instanceof CliError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
