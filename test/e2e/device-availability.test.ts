import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { dht11Payload, getJson, startServer, waitFor, type RunningServer } from '../support/server';

interface LiveMessage {
  type: string;
  deviceId?: string;
  online?: boolean;
}

let server: RunningServer;
let sensor: MqttClient;
let live: WebSocket;
const messages: LiveMessage[] = [];

async function online(deviceId: string): Promise<boolean | undefined> {
  const { status, body } = await getJson<{ online: boolean }>(server.url(`/api/devices/${deviceId}`));
  return status === 200 ? body.online : undefined;
}

beforeAll(async () => {
  server = await startServer({ env: { NINHO_DEVICE_OFFLINE_AFTER_SECONDS: '1' } });
  // No last will: only silence can tell that this one is gone.
  sensor = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { clientId: 'attic-dht', reconnectPeriod: 0 });
  live = new WebSocket(`ws://127.0.0.1:${server.http}/api/live`);
  live.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as LiveMessage));
  await new Promise((resolve) => live.once('open', resolve));
});

afterAll(async () => {
  live?.close();
  await sensor?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('device availability from last seen', () => {
  it('marks a device offline once it has been silent for NINHO_DEVICE_OFFLINE_AFTER_SECONDS', async () => {
    await sensor.publishAsync('tele/attic-dht/SENSOR', dht11Payload(18, 60), { qos: 1 });
    await waitFor(async () => ((await online('attic-dht')) === true ? true : undefined));
    const heardAt = Date.now();

    await waitFor(async () => ((await online('attic-dht')) === false ? true : undefined), 5000, 'the device to go offline');
    // Not before the silence is 1 s long; the sweep runs every 250 ms.
    expect(Date.now() - heardAt).toBeGreaterThanOrEqual(900);
    expect(messages).toContainEqual(expect.objectContaining({ type: 'availability', deviceId: 'attic-dht', online: false }));
    // The MQTT connection is still up: silence, not a last will, made it offline.
    expect(sensor.connected).toBe(true);
  });

  it('brings it back online with its next reading', async () => {
    await sensor.publishAsync('tele/attic-dht/SENSOR', dht11Payload(18.5, 61), { qos: 1 });
    await waitFor(async () => ((await online('attic-dht')) === true ? true : undefined));
    expect(messages.filter((m) => m.type === 'availability' && m.deviceId === 'attic-dht').map((m) => m.online)).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('stores the offline state, so a restart does not show a silent device as online', async () => {
    await waitFor(async () => ((await online('attic-dht')) === false ? true : undefined), 5000);
    await server.stop();
    server = await startServer({ dataDir: server.dataDir, env: { NINHO_DEVICE_OFFLINE_AFTER_SECONDS: '1' } });
    expect(await online('attic-dht')).toBe(false);
  });
});
