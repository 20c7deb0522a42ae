import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../support/commands';
import { REPO_ROOT, startServer, tempDataDir, type RunningServer } from '../support/server';

const CLI = path.join(REPO_ROOT, 'server', 'dist', 'cli.js');
let server: RunningServer;
let plugin: string;

function ninho(...args: string[]): ReturnType<typeof run> {
  return run(process.execPath, [CLI, ...args, ...(args[0] === 'plugins' && args.length > 1 ? ['--url', server.url('/')] : [])], 30_000);
}

beforeAll(async () => {
  server = await startServer();
  plugin = path.join(tempDataDir(), 'hello');
  fs.mkdirSync(plugin);
  fs.writeFileSync(
    path.join(plugin, 'package.json'),
    JSON.stringify({ name: 'ninho-plugin-hello', version: '0.2.0', ninho: { id: 'hello', apiVersion: '^1.0.0', models: ['hello'] } }),
  );
  fs.writeFileSync(
    path.join(plugin, 'index.js'),
    "module.exports = { models: [{ model: 'hello', vendor: 'test', entities: [] }], setup() {} };",
  );
});

afterAll(async () => {
  await server?.stop();
});

describe('npx ninho plugins', () => {
  it('lists the plugins as a table', async () => {
    const { code, stdout } = await ninho('plugins', 'list');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^ID\s+VERSION\s+SOURCE\s+STATUS$/);
    expect(stdout).toMatch(/^esp8266-dht11\s+0\.1\.0\s+bundled\s+active$/m);
  });

  it('installs from a folder, showing each step', async () => {
    const { code, stdout, stderr } = await ninho('plugins', 'install', plugin);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^\[1\/5\] fetch: copying .*hello$/m);
    expect(stdout).toMatch(/^\[2\/5\] validate: /m);
    expect(stdout).toMatch(/^\[5\/5\] done: hello@0\.2\.0 is active$/m);
    expect(stdout).toMatch(/^hello@0\.2\.0 installed and active$/m);
    expect((await ninho('plugins', 'list')).stdout).toMatch(/^hello\s+0\.2\.0\s+installed\s+active$/m);
  });

  it('removes it', async () => {
    const { code, stdout } = await ninho('plugins', 'remove', 'hello');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("hello removed; its devices' history is kept");
  });

  it('says what went wrong, with exit code 1', async () => {
    const bundled = await ninho('plugins', 'remove', 'esp8266-dht11');
    expect(bundled.code).toBe(1);
    expect(bundled.stderr.trim()).toBe('ninho: "esp8266-dht11" is a bundled plugin: it can be disabled, not removed');
    const unreachable = await run(process.execPath, [CLI, 'plugins', 'list', '--url', 'http://127.0.0.1:9'], 30_000);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^ninho: cannot reach ninho at http:\/\/127\.0\.0\.1:9.*is it running\? \(--url\)$/m);
    const usage = await ninho('plugins', 'frobnicate');
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
