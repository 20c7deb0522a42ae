import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, run } from '../support/commands';
import { getJson, startServer, waitFor, type RunningServer } from '../support/server';

// Interop with the mosquitto command line clients from apt (C, not mqtt.js).
let server: RunningServer;
const clients: MqttClient[] = [];

function hostArgs(): string[] {
  return ['-h', '127.0.0.1', '-p', String(server.mqtt)];
}

async function mqttClient(): Promise<MqttClient> {
  const client = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

/** mosquitto_sub against this server, resolved once it has subscribed. */
function subscribed(args: string[]): ReturnType<typeof mosquittoSub> {
  return mosquittoSub([...hostArgs(), ...args]);
}

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await server?.stop();
});

describe('mosquitto_pub and mosquitto_sub', () => {
  it('mosquitto_pub at QoS 2 reaches an mqtt.js subscriber exactly once', async () => {
    const sub = await mqttClient();
    const seen: string[] = [];
    sub.on('message', (_topic, payload) => seen.push(payload.toString()));
    await sub.subscribeAsync('interop/qos2', { qos: 2 });
    for (let i = 0; i < 5; i++) {
      const result = await run('mosquitto_pub', [...hostArgs(), '-q', '2', '-t', 'interop/qos2', '-m', `m${i}`]);
      expect(result.code, result.stderr).toBe(0);
    }
    await waitFor(() => (seen.length >= 5 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('mosquitto_sub gets mqtt.js messages through + and # wildcards at the right QoS', async () => {
    const sub = await subscribed(['-q', '2', '-t', 'interop/+/temp', '-t', 'interop/deep/#', '-C', '3', '-F', '%t %p %q']);
    const pub = await mqttClient();
    await pub.publishAsync('interop/kitchen/temp', '21', { qos: 1 });
    await pub.publishAsync('interop/kitchen/humidity', 'not matched', { qos: 1 });
    await pub.publishAsync('interop/deep/a/b', 'x', { qos: 0 });
    await pub.publishAsync('interop/garage/temp', '12', { qos: 2 });
    expect(await sub.exited).toBe(0);
    const lines = sub
      .output()
      .split('\n')
      .filter((l) => l.startsWith('interop/'));
    expect(lines).toEqual(['interop/kitchen/temp 21 1', 'interop/deep/a/b x 0', 'interop/garage/temp 12 2']);
  });

  it('gives a message retained by mosquitto_pub to a later mosquitto_sub, flagged as retained', async () => {
    expect((await run('mosquitto_pub', [...hostArgs(), '-r', '-q', '1', '-t', 'interop/retained', '-m', 'kept'])).code).toBe(0);
    const result = await run('mosquitto_sub', [...hostArgs(), '-t', 'interop/retained', '-C', '1', '-F', '%t %p retained=%r', '-W', '5']);
    expect(result.stdout.trim()).toBe('interop/retained kept retained=1');
  });

  it("delivers a persistent mosquitto_sub session's queued messages after a server restart", async () => {
    const session = ['-c', '-i', 'interop-persistent', '-q', '1', '-t', 'interop/queued'];
    const first = await subscribed([...session]);
    first.child.kill('SIGINT'); // disconnects; the session stays on the broker
    await first.exited;
    const pub = await mqttClient();
    await pub.publishAsync('interop/queued', 'while away 1', { qos: 1 });
    await pub.publishAsync('interop/queued', 'while away 2', { qos: 1 });
    await pub.endAsync();
    clients.splice(clients.indexOf(pub), 1);

    await server.stop();
    server = await startServer({ dataDir: server.dataDir, ports: { mqtt: server.mqtt } });

    const result = await run('mosquitto_sub', [...hostArgs(), ...session, '-C', '2', '-W', '10']);
    expect(result.stdout.trim().split('\n')).toEqual(['while away 1', 'while away 2']);
  });

  it("publishes a mosquitto client's last will when it dies", async () => {
    const watcher = await mqttClient();
    const wills: string[] = [];
    watcher.on('message', (_topic, payload) => wills.push(payload.toString()));
    await watcher.subscribeAsync('interop/will', { qos: 1 });
    const doomed = await subscribed(['-t', 'interop/ignored', '--will-topic', 'interop/will', '--will-payload', 'gone', '--will-qos', '1']);
    doomed.child.kill('SIGKILL'); // no DISCONNECT
    await waitFor(() => (wills.length > 0 ? true : undefined), 5000, 'the last will');
    expect(wills).toEqual(['gone']);
  });

  it('turns a DHT11 reading sent with mosquitto_pub into a device and its state', async () => {
    const payload = JSON.stringify({ DHT11: { Temperature: 19.4, Humidity: 55 }, TempUnit: 'C' });
    expect((await run('mosquitto_pub', [...hostArgs(), '-t', 'tele/cellar-dht/SENSOR', '-m', payload])).code).toBe(0);
    const device = await waitFor(async () => {
      const { status, body } = await getJson<{ entities: Array<{ key: string; state: unknown }> }>(server.url('/api/devices/cellar-dht'));
      return status === 200 ? body : undefined;
    });
    expect(Object.fromEntries(device.entities.map((e) => [e.key, e.state]))).toEqual({ temperature: 19.4, humidity: 55 });
  });
});
