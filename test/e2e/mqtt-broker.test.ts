import net from 'node:net';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type RunningServer } from '../support/server';

let server: RunningServer;
const clients: MqttClient[] = [];

async function client(options: IClientOptions = {}): Promise<MqttClient> {
  const c = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0, ...options });
  clients.push(c);
  return c;
}

function collect(c: MqttClient): Array<{ topic: string; payload: string; qos: number; retain: boolean }> {
  const seen: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = [];
  c.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
  return seen;
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await server?.stop();
});

describe('embedded MQTT broker', () => {
  it('delivers QoS 2 exactly once', async () => {
    const sub = await client();
    const seen = collect(sub);
    await sub.subscribeAsync('qos2/test', { qos: 2 });
    const pub = await client();
    for (let i = 0; i < 20; i++) await pub.publishAsync('qos2/test', `m${i}`, { qos: 2 });
    await waitFor(() => (seen.length >= 20 ? true : undefined), 5000, '20 messages');
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((m) => m.payload)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(seen.every((m) => m.qos === 2)).toBe(true);
  });

  it('delivers at min(publish QoS, subscription QoS)', async () => {
    const sub0 = await client();
    const sub2 = await client();
    const seen0 = collect(sub0);
    const seen2 = collect(sub2);
    await sub0.subscribeAsync('downgrade/x', { qos: 0 });
    await sub2.subscribeAsync('downgrade/x', { qos: 2 });
    const pub = await client();
    await pub.publishAsync('downgrade/x', 'one', { qos: 1 });
    await waitFor(() => (seen0.length && seen2.length ? true : undefined));
    expect(seen0[0]?.qos).toBe(0);
    expect(seen2[0]?.qos).toBe(1);
  });

  it('gives a retained message to a late subscriber, and + / # wildcards match', async () => {
    const pub = await client();
    await pub.publishAsync('home/kitchen/light', 'on', { qos: 1, retain: true });
    await pub.publishAsync('home/garage/door/state', 'closed', { qos: 1, retain: true });
    const late = await client();
    const seen = collect(late);
    await late.subscribeAsync('home/+/light', { qos: 1 });
    await late.subscribeAsync('home/garage/#', { qos: 1 });
    await waitFor(() => (seen.length >= 2 ? true : undefined));
    expect(seen).toEqual(
      expect.arrayContaining([
        { topic: 'home/kitchen/light', payload: 'on', qos: 1, retain: true },
        { topic: 'home/garage/door/state', payload: 'closed', qos: 1, retain: true },
      ]),
    );
  });

  it('publishes the last will when a device dies without DISCONNECT', async () => {
    const watcher = await client();
    const seen = collect(watcher);
    await watcher.subscribeAsync('tele/dying/LWT', { qos: 1 });
    const device = await client({
      clientId: 'dying',
      will: { topic: 'tele/dying/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true },
    });
    device.stream.destroy(); // the socket dies: no DISCONNECT packet
    await waitFor(() => seen.find((m) => m.payload === 'Offline'), 5000, 'last will');
  });

  it('refuses a zero-length client id with clean session = 0 [MQTT-3.1.3-8]', async () => {
    // mqtt.js and mqtt-packet refuse to build this CONNECT, so it is written by hand:
    // "MQTT", level 4, flags 0 (clean session = 0), keepalive 0, zero-length client id.
    const connect = Buffer.from([0x10, 12, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(server.mqtt, '127.0.0.1', () => {
        socket.write(connect);
      });
      let data = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    // CONNACK, remaining length 2, no session present, return code 2 (identifier rejected).
    expect([...reply]).toEqual([0x20, 0x02, 0x00, 0x02]);
  });

  it('speaks MQTT over WebSocket at /mqtt on the HTTP port', async () => {
    const ws = await connectAsync(`ws://127.0.0.1:${server.http}/mqtt`, { reconnectPeriod: 0 });
    clients.push(ws);
    const seen = collect(ws);
    await ws.subscribeAsync('ws/echo', { qos: 1 });
    const tcp = await client();
    await tcp.publishAsync('ws/echo', 'over websocket', { qos: 1 });
    await waitFor(() => seen.find((m) => m.payload === 'over websocket'));
  });

  it('survives a malformed packet and keeps serving', async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(server.mqtt, '127.0.0.1', () => {
        // A CONNECT header announcing a body that is not an MQTT CONNECT at all.
        socket.write(Buffer.from([0x10, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05]));
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      setTimeout(() => socket.destroy(), 2000);
    });
    const after = await client();
    await after.publishAsync('still/alive', 'yes', { qos: 1 });
    expect((await fetch(server.url('/api/health'))).status).toBe(200);
  });
});

describe('persistent sessions', () => {
  it('keeps queued QoS 1 and 2 messages for an offline clean-session=0 client across a server restart', async () => {
    const dataDir = server.dataDir;
    const ports = { mqtt: server.mqtt };
    const sub = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { clientId: 'sleepy', clean: false, reconnectPeriod: 0 });
    await sub.subscribeAsync('queued/#', { qos: 2 });
    await sub.endAsync();
    const pub = await client();
    await pub.publishAsync('queued/a', 'q1', { qos: 1 });
    await pub.publishAsync('queued/b', 'q2', { qos: 2 });
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));

    expect(await server.stop()).toBe(0);
    server = await startServer({ dataDir, ports });

    const back = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, {
      clientId: 'sleepy',
      clean: false,
      reconnectPeriod: 0,
      manualConnect: false,
    });
    clients.push(back);
    const seen = collect(back);
    await waitFor(() => (seen.length >= 2 ? true : undefined), 5000, 'queued messages after restart');
    expect(seen.map((m) => m.payload).sort()).toEqual(['q1', 'q2']);
  });
});
