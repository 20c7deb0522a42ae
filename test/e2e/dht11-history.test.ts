import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { dht11Payload, getJson, startServer, waitFor, type RunningServer } from '../support/server';

interface DeviceView {
  id: string;
  online: boolean;
  entities: Array<{ id: string; state: unknown; unit: string | null; kind: string }>;
}
interface RawHistory {
  points: Array<{ t: number; value: number }>;
}

let server: RunningServer;
let device: MqttClient;

beforeAll(async () => {
  server = await startServer({ env: { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' } });
  device = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, {
    clientId: 'kitchen-dht',
    reconnectPeriod: 0,
    will: { topic: 'tele/kitchen-dht/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true },
  });
  await device.publishAsync('tele/kitchen-dht/LWT', 'Online', { qos: 1, retain: true });
});

afterAll(async () => {
  await device?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('a DHT11 over MQTT (Tasmota convention)', () => {
  it('appears as a device with temperature and humidity entities', async () => {
    await device.publishAsync('tele/kitchen-dht/SENSOR', dht11Payload(22.6, 32.4), { qos: 1 });
    const dht = await waitFor(async () => {
      const { body } = await getJson<DeviceView>(server.url('/api/devices/kitchen-dht'));
      return body.entities?.length === 2 ? body : undefined;
    });
    expect(dht.online).toBe(true);
    expect(dht.entities).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'kitchen-dht.temperature', state: 22.6, unit: '°C', kind: 'sensor' }),
        expect.objectContaining({ id: 'kitchen-dht.humidity', state: 32.4, unit: '%', kind: 'sensor' }),
      ]),
    );
  });

  it('pushes each change on /api/live', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.http}/api/live`);
    const messages: Array<{ type: string; entityId?: string; state?: unknown }> = [];
    ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as (typeof messages)[number]));
    await new Promise((resolve) => ws.once('open', resolve));
    await waitFor(() => messages.find((m) => m.type === 'snapshot'));
    await device.publishAsync('tele/kitchen-dht/SENSOR', dht11Payload(23.1, 35), { qos: 1 });
    const push = await waitFor(() => messages.find((m) => m.type === 'state' && m.entityId === 'kitchen-dht.temperature'));
    expect(push).toMatchObject({ type: 'state', entityId: 'kitchen-dht.temperature', state: 23.1 });
    ws.close();
  });

  it('ends up in the REST history, raw and bucketed', async () => {
    const history = await waitFor(async () => {
      const { body } = await getJson<RawHistory>(server.url('/api/entities/kitchen-dht.temperature/history'));
      return body.points.length >= 2 ? body : undefined;
    });
    expect(history.points.map((p) => p.value)).toEqual([22.6, 23.1]);
    const { status, body } = await getJson<{ points: Array<{ min: number; max: number; avg: number }> }>(
      server.url('/api/entities/kitchen-dht.temperature/history?bucket=1h'),
    );
    expect(status).toBe(200);
    const min = Math.min(...body.points.map((p) => p.min));
    const max = Math.max(...body.points.map((p) => p.max));
    expect([min, max]).toEqual([22.6, 23.1]);
  });

  it('answers 404 for an unknown entity and 400 with paths for a bad query', async () => {
    expect((await getJson(server.url('/api/entities/nope.temperature/history'))).status).toBe(404);
    expect((await getJson(server.url('/api/devices/nope'))).status).toBe(404);
    const bad = await getJson<{ errors: Array<{ path: string }> }>(
      server.url('/api/entities/kitchen-dht.temperature/history?bucket=7x&from=yesterday'),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e) => e.path).sort()).toEqual(['bucket', 'from']);
  });

  it('skips a bad JSON payload without harm to the server or the stored data', async () => {
    await device.publishAsync('tele/kitchen-dht/SENSOR', '{"DHT11": {"Temperature": oops', { qos: 1 });
    await device.publishAsync('tele/kitchen-dht/SENSOR', JSON.stringify({ DHT11: { Temperature: 'hot' } }), { qos: 1 });
    const { body } = await getJson<DeviceView>(server.url('/api/devices/kitchen-dht'));
    expect(body.entities.find((e) => e.id === 'kitchen-dht.temperature')?.state).toBe(23.1);
    expect((await getJson(server.url('/api/health'))).status).toBe(200);
  });

  it('goes offline by its last will when the device dies', async () => {
    device.stream.destroy();
    await waitFor(
      async () => {
        const { body } = await getJson<DeviceView>(server.url('/api/devices/kitchen-dht'));
        return body.online === false ? true : undefined;
      },
      5000,
      'device offline',
    );
  });

  it('keeps every reading, state and device through SIGTERM and restart', async () => {
    const burst = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
    // Many readings in the same few milliseconds: none may be merged or lost.
    for (let i = 0; i < 200; i++) burst.publish('tele/kitchen-dht/SENSOR', dht11Payload(20 + i / 100, 40), { qos: 0 });
    await burst.publishAsync('tele/kitchen-dht/SENSOR', dht11Payload(30, 41), { qos: 1 });
    await burst.endAsync();
    // Stop at once: the readings are still in the writer's buffer.
    expect(await server.stop('SIGTERM')).toBe(0);
    server = await startServer({ dataDir: server.dataDir });
    const { body } = await getJson<DeviceView>(server.url('/api/devices/kitchen-dht'));
    expect(body.entities.find((e) => e.id === 'kitchen-dht.temperature')?.state).toBe(30);
    const history = await getJson<RawHistory>(server.url('/api/entities/kitchen-dht.temperature/history'));
    expect(history.body.points).toHaveLength(2 + 200 + 1);
  });
});
