import fs from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dht11Payload, getJson, postCommand, type RunningServer, startServer, tempDataDir, waitFor } from '../support/server';

interface PluginInfo {
  id: string;
  status: 'active' | 'failed' | 'disabled';
  error?: string;
}

/** A plugin package in `root`: its package.json (with `ninho` manifest) and index.js. */
function writePlugin(root: string, dir: string, pkg: Record<string, unknown>, code: string): void {
  fs.mkdirSync(path.join(root, dir), { recursive: true });
  fs.writeFileSync(path.join(root, dir, 'package.json'), JSON.stringify({ name: dir, version: '1.0.0', main: 'index.js', ...pkg }));
  fs.writeFileSync(path.join(root, dir, 'index.js'), code);
}

const manifest = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ninho: { id, apiVersion: '^1.0.0', models: ['fixture'], ...extra },
});
const MODELS = `models: [{ model: 'fixture', vendor: 'test', entities: [] }]`;

let server: RunningServer;
let client: MqttClient;

async function plugins(): Promise<Map<string, PluginInfo>> {
  const { body } = await getJson<PluginInfo[]>(server.url('/api/plugins'));
  return new Map(body.map((p) => [p.id, p]));
}

async function pluginStatus(id: string): Promise<PluginInfo | undefined> {
  return (await plugins()).get(id);
}

beforeAll(async () => {
  const root = tempDataDir();
  writePlugin(root, 'bad-manifest', { ninho: { id: 'Bad Id!', apiVersion: 'soon', models: [] } }, 'module.exports = {};');
  writePlugin(root, 'future-api', manifest('future-api', { apiVersion: '^2.0.0' }), 'module.exports = {};');
  writePlugin(root, 'load-throws', manifest('load-throws'), "throw new Error('cannot find the flux capacitor');");
  writePlugin(root, 'not-a-plugin', manifest('not-a-plugin'), 'module.exports = { hello: 1 };');
  writePlugin(
    root,
    'bad-options',
    manifest('bad-options', { options: { type: 'object', properties: { port: { type: 'string' } }, required: ['port'] } }),
    `module.exports = { ${MODELS}, setup() {} };`,
  );
  writePlugin(
    root,
    'setup-throws',
    manifest('setup-throws'),
    `module.exports = { ${MODELS}, setup() { throw new Error('boom in setup'); } };`,
  );
  writePlugin(root, 'setup-hangs', manifest('setup-hangs'), `module.exports = { ${MODELS}, setup() { return new Promise(() => {}); } };`);
  writePlugin(
    root,
    'decode-throws',
    manifest('decode-throws'),
    `module.exports = { ${MODELS}, setup(ctx) { ctx.mqtt.subscribe('fixture/decode', () => { throw new Error('cannot decode ' + 'this'); }); } };`,
  );
  writePlugin(
    root,
    'decode-rejects',
    manifest('decode-rejects'),
    `module.exports = { ${MODELS}, setup(ctx) { ctx.mqtt.subscribe('fixture/async', async () => { await null; throw new Error('async decode failed'); }); } };`,
  );
  writePlugin(
    root,
    'command-throws',
    manifest('command-throws'),
    `module.exports = {
      ${MODELS},
      async setup(ctx) {
        await ctx.devices.register({ id: 'buggy-relay', name: 'Buggy relay', transport: 'mqtt',
          entities: [{ key: 'power', name: 'Power', kind: 'switch' }] });
        ctx.devices.setAvailability('buggy-relay', true);
      },
      async command() { const settings = undefined; return settings.retries; },
    };`,
  );
  writePlugin(
    root,
    'command-declines',
    manifest('command-declines'),
    `const { CommandError } = require(${JSON.stringify(require.resolve('@ninho/plugin-sdk'))});
    module.exports = {
      ${MODELS},
      async setup(ctx) {
        await ctx.devices.register({ id: 'picky-relay', name: 'Picky relay', transport: 'mqtt',
          entities: [{ key: 'power', name: 'Power', kind: 'switch' }] });
      },
      async command() { throw new CommandError('the relay only takes ON', 'rejected'); },
    };`,
  );
  server = await startServer({ env: { NINHO_PLUGIN_DIRS: root, NINHO_PLUGIN_SETUP_TIMEOUT_MS: '500' } });
  client = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
});

afterAll(async () => {
  await client?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

function command(entityId: string, value: string): Promise<{ status: number; body: { message: string } }> {
  return postCommand<{ message: string }>(server, entityId, { command: value });
}

describe('a broken plugin is disabled with its id and reason; everything else keeps running', () => {
  it.each([
    [
      'bad-manifest',
      /invalid manifest: ninho\.id: lowercase letters, digits and dashes; ninho\.apiVersion: not a semver range; ninho\.models: /,
    ],
    ['future-api', /targets plugin API \^2\.0\.0, but this server provides 1\.0\.0/],
    ['load-throws', /failed to load: cannot find the flux capacitor/],
    ['not-a-plugin', /default export is not a plugin: models: .*setup: setup must be a function/],
    ['bad-options', /invalid options: options\.port: /],
    ['setup-throws', /threw during setup: boom in setup/],
    ['setup-hangs', /threw during setup: setup did not finish within 500 ms/],
  ])('%s', async (id, reason) => {
    const info = await pluginStatus(id);
    expect(info?.status).toBe('failed');
    expect(info?.error).toMatch(reason);
    expect(server.logs()).toContain(`plugin ${id} disabled: ${info?.error ?? ''}`);
  });

  it('disables a plugin whose decode throws, and ignores its later messages', async () => {
    expect((await pluginStatus('decode-throws'))?.status).toBe('active');
    await client.publishAsync('fixture/decode', 'x', { qos: 1 });
    const info = await waitFor(async () => {
      const p = await pluginStatus('decode-throws');
      return p?.status === 'failed' ? p : undefined;
    });
    expect(info.error).toBe('threw during decode of fixture/decode: cannot decode this');
    await client.publishAsync('fixture/decode', 'again', { qos: 1 });
    expect(server.logs().match(/plugin decode-throws disabled/g)).toHaveLength(1);
  });

  it('disables a plugin whose async decode rejects, without an unhandled rejection', async () => {
    await client.publishAsync('fixture/async', 'x', { qos: 1 });
    const info = await waitFor(async () => {
      const p = await pluginStatus('decode-rejects');
      return p?.status === 'failed' ? p : undefined;
    });
    expect(info.error).toBe('threw during decode of fixture/async: async decode failed');
    expect(server.logs()).not.toMatch(/unhandled promise rejection/);
  });

  it('answers 502 and disables a plugin whose command throws', async () => {
    const response = await command('buggy-relay.power', 'ON');
    expect(response.status).toBe(502);
    expect(response.body.message).toMatch(/plugin command-throws failed and is disabled: .*retries/);
    expect((await pluginStatus('command-throws'))?.status).toBe('failed');
    // Disabled means no handler: a second command says so rather than running it.
    expect((await command('buggy-relay.power', 'ON')).body.message).toMatch(/plugin "command-throws" of buggy-relay is not loaded/);
  });

  it('keeps a plugin that declines a command with a CommandError', async () => {
    const response = await command('picky-relay.power', 'OFF');
    expect(response).toEqual({ status: 400, body: { message: 'the relay only takes ON' } });
    expect((await pluginStatus('command-declines'))?.status).toBe('active');
  });

  it('still runs the bundled DHT11 plugin and the server', async () => {
    expect((await pluginStatus('esp8266-dht11'))?.status).toBe('active');
    await client.publishAsync('tele/after-failures/SENSOR', dht11Payload(21, 45), { qos: 1 });
    await waitFor(async () => ((await getJson(server.url('/api/devices/after-failures'))).status === 200 ? true : undefined));
    expect((await getJson<{ status: string }>(server.url('/api/health'))).body.status).toBe('ok');
  });
});
