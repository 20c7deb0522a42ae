import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dht11Payload, getJson, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

interface DeviceView {
  id: string;
  name: string;
  entities: Array<{ id: string; name: string; state: unknown }>;
}
interface ErrorBody {
  message: string;
  errors?: Array<{ path: string; message: string }>;
}
interface RawHistory {
  points: Array<{ t: number; value: number }>;
}

const dataDir = tempDataDir();
const env = { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' };
let server: RunningServer;
let sensors: MqttClient;

async function send(method: 'PATCH' | 'DELETE', pathname: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(server.url(pathname), {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function connectSensors(): Promise<void> {
  sensors = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { clientId: 'sensors', reconnectPeriod: 0 });
}

async function reading(deviceId: string, temperature: number): Promise<DeviceView> {
  await sensors.publishAsync(`tele/${deviceId}/SENSOR`, dht11Payload(temperature, 40), { qos: 1 });
  return waitFor(async () => {
    const { body } = await getJson<DeviceView>(server.url(`/api/devices/${deviceId}`));
    return body.entities?.find((e) => e.id === `${deviceId}.temperature`)?.state === temperature ? body : undefined;
  });
}

async function temperatureHistory(deviceId: string): Promise<number[]> {
  const { body } = await getJson<RawHistory>(server.url(`/api/entities/${deviceId}.temperature/history?from=0`));
  return body.points.map((p) => p.value);
}

async function restart(): Promise<void> {
  await sensors.endAsync(true);
  await server.stop();
  server = await startServer({ dataDir, env });
  await connectSensors();
}

beforeAll(async () => {
  server = await startServer({ dataDir, env });
  await connectSensors();
  await reading('hall', 20);
  await reading('attic', 30);
  await waitFor(async () => ((await temperatureHistory('attic')).length === 1 ? true : undefined), 5000, 'history flushed');
  await waitFor(async () => ((await temperatureHistory('hall')).length === 1 ? true : undefined), 5000, 'history flushed');
});

afterAll(async () => {
  await sensors?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('managing devices over the API', () => {
  it('renames a device and an entity', async () => {
    const device = await send('PATCH', '/api/devices/hall', { name: '  Hallway ' });
    expect(device).toMatchObject({ status: 200, body: { id: 'hall', name: 'Hallway' } });
    const entity = await send('PATCH', '/api/entities/hall.temperature', { name: 'Hall temperature' });
    expect(entity).toMatchObject({ status: 200, body: { id: 'hall.temperature', name: 'Hall temperature' } });
    // A new reading re-registers nothing that would undo the names.
    const hall = await reading('hall', 21);
    expect(hall.name).toBe('Hallway');
    expect(hall.entities.find((e) => e.id === 'hall.temperature')?.name).toBe('Hall temperature');
  });

  it('refuses bad renames with the path of each error, and unknown ids with 404', async () => {
    const empty = await send('PATCH', '/api/devices/hall', { name: ' ' });
    expect(empty.status).toBe(400);
    expect((empty.body as ErrorBody).errors).toEqual([expect.objectContaining({ path: 'name' })]);
    const extra = await send('PATCH', '/api/devices/hall', { name: 'x', colour: 'red' });
    expect(extra.status).toBe(400);
    expect((extra.body as ErrorBody).errors?.[0]?.path).toBe('(root)');
    expect(await send('PATCH', '/api/devices/nowhere', { name: 'x' })).toMatchObject({
      status: 404,
      body: { message: 'no device "nowhere"' },
    });
    expect((await send('PATCH', '/api/entities/hall.nothing', { name: 'x' })).status).toBe(404);
    expect((await send('DELETE', '/api/devices/hall?history=maybe')).status).toBe(400);
    expect((await send('DELETE', '/api/devices/nowhere')).status).toBe(404);
  });

  it('keeps the names across a restart', async () => {
    await restart();
    const { body } = await getJson<DeviceView>(server.url('/api/devices/hall'));
    expect(body.name).toBe('Hallway');
    expect(body.entities.find((e) => e.id === 'hall.temperature')?.name).toBe('Hall temperature');
  });

  it('removes a device but keeps its history, and brings both back when the device sends again', async () => {
    await reading('hall', 22); // so that the plugin has registered it in this run
    await waitFor(async () => ((await temperatureHistory('hall')).length === 3 ? true : undefined), 5000, 'history flushed');
    expect(await send('DELETE', '/api/devices/hall')).toEqual({ status: 200, body: { id: 'hall', history: 'keep' } });
    expect((await getJson(server.url('/api/devices/hall'))).status).toBe(404);
    expect((await getJson<DeviceView[]>(server.url('/api/devices'))).body.map((d) => d.id)).toEqual(['attic']);

    const hall = await reading('hall', 23);
    expect(hall.name).toBe('Hallway');
    expect(hall.entities.find((e) => e.id === 'hall.temperature')?.name).toBe('Hall temperature');
    await waitFor(async () => ((await temperatureHistory('hall')).length === 4 ? true : undefined), 5000, 'history flushed');
    expect(await temperatureHistory('hall')).toEqual([20, 21, 22, 23]);
    expect(server.logs()).toContain('removed device hall is sending again');
  });

  it('stays removed across a restart until it sends again', async () => {
    expect((await send('DELETE', '/api/devices/hall')).status).toBe(200);
    await restart();
    expect((await getJson<DeviceView[]>(server.url('/api/devices'))).body.map((d) => d.id)).toEqual(['attic']);
    const hall = await reading('hall', 24);
    expect(hall.name).toBe('Hallway');
    await waitFor(async () => ((await temperatureHistory('hall')).length === 5 ? true : undefined), 5000, 'history flushed');
  });

  it('removes a device with its history when asked to purge', async () => {
    expect(await send('DELETE', '/api/devices/attic?history=purge')).toEqual({ status: 200, body: { id: 'attic', history: 'purge' } });
    expect((await getJson(server.url('/api/devices/attic'))).status).toBe(404);
    const attic = await reading('attic', 31);
    expect(attic.name).toBe('attic');
    await waitFor(async () => ((await temperatureHistory('attic')).length === 1 ? true : undefined), 5000, 'history flushed');
    expect(await temperatureHistory('attic')).toEqual([31]);
  });
});
