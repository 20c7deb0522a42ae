import fs from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { packPlugin, writeThermoPlugin } from '../support/plugins';
import { getJson, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

interface PluginInfo {
  id: string;
  version: string;
  source: string;
  status: string;
  dir: string;
  error?: string;
}
interface Progress {
  type: string;
  installId?: string;
  stage?: string;
  message?: string;
}

let server: RunningServer;
let client: MqttClient;
let live: WebSocket;
const messages: Progress[] = [];
let work: string;

async function upload(
  data: Buffer,
  name = 'plugin.tgz',
): Promise<{ status: number; body: PluginInfo & { message?: string; errors?: Array<{ path: string }> } }> {
  const form = new FormData();
  form.append('package', new Blob([data]), name);
  const response = await fetch(server.url('/api/plugins'), { method: 'POST', body: form });
  return { status: response.status, body: (await response.json()) as PluginInfo & { message?: string } };
}

async function send(method: string, pathname: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(server.url(pathname), {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function plugin(id: string): Promise<PluginInfo | undefined> {
  return (await getJson<PluginInfo[]>(server.url('/api/plugins'))).body.find((p) => p.id === id);
}

async function temperatureOf(id: string): Promise<unknown> {
  const { status, body } = await getJson<{ entities: Array<{ key: string; state: unknown }> }>(server.url(`/api/devices/${id}`));
  return status === 200 ? body.entities.find((e) => e.key === 'temperature')?.state : undefined;
}

async function connect(): Promise<void> {
  client = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
  live = new WebSocket(`ws://127.0.0.1:${server.http}/api/live`);
  live.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Progress));
  await new Promise((resolve) => live.once('open', resolve));
}

beforeAll(async () => {
  work = tempDataDir();
  server = await startServer({ env: { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' } });
  await connect();
});

afterAll(async () => {
  live?.terminate();
  await client?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('installing plugins while the server runs', () => {
  it('installs an uploaded .tgz, reports progress on /api/live, and its devices work at once', async () => {
    const source = path.join(work, 'thermo-1');
    writeThermoPlugin(source, '1.0.0', 1);
    const response = await upload(fs.readFileSync(await packPlugin(source, work)));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ id: 'thermo', version: '1.0.0', source: 'installed', status: 'active' });
    expect(response.body.dir).toBe(path.join(server.dataDir, 'plugins', 'thermo'));
    const stages = messages.filter((m) => m.type === 'plugin-progress').map((m) => m.stage);
    expect(stages).toEqual(['fetch', 'validate', 'activate', 'done']);

    await client.publishAsync('thermo/den/t', '21.5', { qos: 1 });
    await waitFor(async () => ((await temperatureOf('den')) === 21.5 ? true : undefined));
  });

  it('updates it in place: the new code runs, the old one is gone', async () => {
    const source = path.join(work, 'thermo-2');
    writeThermoPlugin(source, '1.1.0', 10);
    const response = await upload(fs.readFileSync(await packPlugin(source, work)));
    expect(response.body).toMatchObject({ id: 'thermo', version: '1.1.0', status: 'active' });
    await client.publishAsync('thermo/den/t', '2', { qos: 1 });
    await waitFor(async () => ((await temperatureOf('den')) === 20 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    // One subscription only: the 1.0.0 code would have reported 2 after the 20.
    expect(await temperatureOf('den')).toBe(20);
  });

  it('disables and enables it, and the choice survives a restart', async () => {
    expect((await send('PATCH', '/api/plugins/thermo', { enabled: false })).body).toMatchObject({ status: 'disabled' });
    await client.publishAsync('thermo/den/t', '3', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await temperatureOf('den')).toBe(20);

    live.terminate();
    await client.endAsync();
    await server.stop();
    server = await startServer({ dataDir: server.dataDir, env: { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' } });
    await connect();
    expect(await plugin('thermo')).toMatchObject({ version: '1.1.0', status: 'disabled' });

    expect((await send('PATCH', '/api/plugins/thermo', { enabled: true })).body).toMatchObject({ status: 'active' });
    await client.publishAsync('thermo/den/t', '4', { qos: 1 });
    await waitFor(async () => ((await temperatureOf('den')) === 40 ? true : undefined));
  });

  it('refuses bad packages and bad requests with the path of each error', async () => {
    const notTgz = await upload(Buffer.from('this is not a tarball'));
    expect(notTgz.status).toBe(400);
    expect(notTgz.body.message).toMatch(/not a \.tgz package/);

    const plain = path.join(work, 'plain');
    fs.mkdirSync(plain);
    fs.writeFileSync(path.join(plain, 'package.json'), JSON.stringify({ name: 'plain', version: 'one' }));
    const noManifest = await send('POST', '/api/plugins', { source: 'folder', path: plain });
    expect(noManifest.status).toBe(400);
    expect((noManifest.body['errors'] as Array<{ path: string }>).map((e) => e.path)).toEqual([
      'package.json.version',
      'package.json.ninho',
    ]);

    const badBody = await send('POST', '/api/plugins', { source: 'ftp', where: 'x' });
    expect(badBody.status).toBe(400);
    expect((badBody.body['errors'] as Array<{ path: string }>)[0]?.path).toBe('source');

    expect((await send('PATCH', '/api/plugins/nope', { enabled: true })).status).toBe(404);
    expect((await send('DELETE', '/api/plugins/esp8266-dht11')).status).toBe(409);
    expect((await plugin('thermo'))?.status).toBe('active');
  });

  it('checks options against the plugin schema', async () => {
    const response = await send('PATCH', '/api/plugins/esp8266-dht11', { options: { commandTimeoutMs: 'soon' } });
    expect(response.status).toBe(400);
    expect((response.body['errors'] as Array<{ path: string }>)[0]?.path).toBe('options.commandTimeoutMs');
    expect((await plugin('esp8266-dht11'))?.status).toBe('active');
  });

  it('shows each plugin its options schema and the options set, for the dashboard form', async () => {
    expect(await send('PATCH', '/api/plugins/garage-door', { options: { travelTimeoutMs: 30_000 } })).toMatchObject({
      status: 200,
      body: { id: 'garage-door', status: 'active', options: { travelTimeoutMs: 30_000 } },
    });
    const garage = (await getJson<Array<PluginInfo & { optionsSchema: unknown; options: unknown }>>(server.url('/api/plugins'))).body.find(
      (p) => p.id === 'garage-door',
    );
    expect(garage?.optionsSchema).toMatchObject({ type: 'object', properties: { travelTimeoutMs: { type: 'integer', default: 60000 } } });
    expect(garage?.options).toEqual({ travelTimeoutMs: 30_000 });
  });

  it('installs by npm spec through npm pack (here a local folder spec, so the test needs no registry)', async () => {
    const source = path.join(work, 'thermo-3');
    writeThermoPlugin(source, '1.2.0', 10);
    const response = await send('POST', '/api/plugins', { source: 'npm', spec: source });
    expect(response.body).toMatchObject({ id: 'thermo', version: '1.2.0', status: 'active' });
    const missing = await send('POST', '/api/plugins', { source: 'npm', spec: path.join(work, 'no-such-package') });
    expect(missing.status).toBe(400);
    expect(missing.body['message']).toMatch(/^cannot download: spec: /);
    expect((await plugin('thermo'))?.version).toBe('1.2.0');
  });

  it('removes it, keeping its devices and history unless asked to purge them', async () => {
    const kept = await send('DELETE', '/api/plugins/thermo');
    expect(kept).toEqual({ status: 200, body: { id: 'thermo', purgedDevices: [] } });
    expect(await plugin('thermo')).toBeUndefined();
    expect(fs.existsSync(path.join(server.dataDir, 'plugins', 'thermo'))).toBe(false);
    expect(await temperatureOf('den')).toBe(40);
    const history = await getJson<{ points: unknown[] }>(server.url('/api/entities/den.temperature/history?from=0'));
    expect(history.body.points.length).toBeGreaterThanOrEqual(3);

    // Installed again from a folder, then removed with its devices.
    const again = await send('POST', '/api/plugins', { source: 'folder', path: path.join(work, 'thermo-2') });
    expect(again.body).toMatchObject({ id: 'thermo', status: 'active' });
    const purged = await send('DELETE', '/api/plugins/thermo?purge=true');
    expect(purged.body).toEqual({ id: 'thermo', purgedDevices: ['den'] });
    expect((await getJson(server.url('/api/devices/den'))).status).toBe(404);
    expect((await getJson(server.url('/api/entities/den.temperature/history?from=0'))).status).toBe(404);
    expect((await getJson<{ status: string }>(server.url('/api/health'))).body.status).toBe('ok');
  });
});
