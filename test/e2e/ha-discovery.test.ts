import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postCommand, type RunningServer, startServer, waitFor } from '../support/server';

interface DeviceView {
  id: string;
  name: string;
  manufacturer: string | null;
  online: boolean;
  entities: Array<{ key: string; name: string; kind: string; unit: string | null; deviceClass: string | null; state: unknown }>;
}

let server: RunningServer;
/** A smart plug (switch) and a gate opener (cover) that announce themselves, as ESPHome or Tasmota do. */
let plug: MqttClient;
let installer: MqttClient;

async function device(id: string): Promise<DeviceView | undefined> {
  const { status, body } = await getJson<DeviceView>(server.url(`/api/devices/${id}`));
  return status === 200 ? body : undefined;
}

async function state(id: string, key: string): Promise<unknown> {
  return (await device(id))?.entities.find((e) => e.key === key)?.state;
}

function command(entityId: string, value: string): Promise<{ status: number; body: { message?: string } }> {
  return postCommand<{ message?: string }>(server, entityId, { command: value });
}

const retained = { qos: 1, retain: true } as const;

beforeAll(async () => {
  server = await startServer();
  installer = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
  // The plug follows its command topic and reports back, like any real one.
  plug = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, {
    clientId: 'plug-a1',
    will: { topic: 'plug-a1/status', payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  await plug.subscribeAsync(['plug-a1/relay/set', 'opener/cmd'], { qos: 1 });
  plug.on('message', (topic, payload) => {
    const text = payload.toString();
    if (topic === 'plug-a1/relay/set')
      void plug.publishAsync('plug-a1/relay/state', JSON.stringify({ relay: text === 'on' ? 'on' : 'off' }), retained);
    if (topic === 'opener/cmd') {
      void plug.publishAsync('opener/pos', text === 'OPEN' ? 'opening' : 'closing', retained);
      setTimeout(() => void plug.publishAsync('opener/pos', text === 'OPEN' ? 'open' : 'closed', retained), 200);
    }
  });
  // Online again after every reconnect, as Tasmota and ESPHome do (the broker may have sent the will).
  plug.on('connect', () => void plug.publishAsync('plug-a1/status', 'online', retained));
  await plug.publishAsync('plug-a1/status', 'online', retained);
  await plug.publishAsync('plug-a1/relay/state', '{"relay":"off"}', retained);
});

afterAll(async () => {
  await Promise.all([plug, installer].map((c) => c?.endAsync(true).catch(() => undefined)));
  await server?.stop();
});

describe('Home Assistant MQTT discovery', () => {
  it('creates a sensor device from a retained config with abbreviations, ~ and a value_template', async () => {
    await installer.publishAsync(
      'homeassistant/sensor/attic-1/temperature/config',
      JSON.stringify({
        '~': 'sensors/attic-1',
        name: 'Attic temperature',
        stat_t: '~/state',
        val_tpl: "{{ value_json['DHT11'].Temperature | round(1) }}",
        unit_of_meas: '°C',
        dev_cla: 'temperature',
        dev: { ids: ['attic-1'], name: 'Attic sensor', mf: 'Espressif' },
      }),
      retained,
    );
    await installer.publishAsync('sensors/attic-1/state', JSON.stringify({ DHT11: { Temperature: 17.04, Humidity: 52 } }), { qos: 1 });
    await waitFor(async () => ((await state('attic-1', 'temperature')) === 17 ? true : undefined), 5000, 'the temperature');
    const view = await device('attic-1');
    expect(view).toMatchObject({ name: 'Attic sensor', manufacturer: 'Espressif' });
    expect(view?.entities).toEqual([
      expect.objectContaining({ key: 'temperature', kind: 'sensor', unit: '°C', deviceClass: 'temperature' }),
    ]);
  });

  it('reads a binary sensor with its own on/off payloads', async () => {
    await installer.publishAsync(
      'homeassistant/binary_sensor/hall/door/config',
      JSON.stringify({ name: 'Hall door', state_topic: 'hall/door', payload_on: 'OPEN', payload_off: 'CLOSED', device_class: 'door' }),
      retained,
    );
    await waitFor(async () => ((await device('hall'))?.entities.length === 1 ? true : undefined));
    await installer.publishAsync('hall/door', 'OPEN', { qos: 1 });
    await waitFor(async () => ((await state('hall', 'door')) === true ? true : undefined));
    await installer.publishAsync('hall/door', 'CLOSED', { qos: 1 });
    await waitFor(async () => ((await state('hall', 'door')) === false ? true : undefined));
  });

  it('commands a switch over its command topic and confirms from its state topic', async () => {
    await installer.publishAsync(
      'homeassistant/switch/plug-a1/relay/config',
      JSON.stringify({
        name: 'Relay',
        cmd_t: 'plug-a1/relay/set',
        stat_t: 'plug-a1/relay/state',
        val_tpl: '{{ value_json.relay }}',
        pl_on: 'on',
        pl_off: 'off',
        avty_t: 'plug-a1/status',
        dev: { ids: 'plug-a1', name: 'Smart plug' },
      }),
      retained,
    );
    await waitFor(async () => ((await state('plug-a1', 'relay')) === 'OFF' ? true : undefined), 5000, 'the retained relay state');
    expect((await command('plug-a1.relay', 'ON')).status).toBe(202);
    expect(await state('plug-a1', 'relay')).toBe('ON');
    expect((await command('plug-a1.relay', 'TOGGLE')).status).toBe(202);
    expect(await state('plug-a1', 'relay')).toBe('OFF');
  });

  it('opens a cover and follows its travel', async () => {
    await installer.publishAsync(
      'homeassistant/cover/opener/gate/config',
      JSON.stringify({ name: 'Gate', cmd_t: 'opener/cmd', stat_t: 'opener/pos', dev_cla: 'gate' }),
      retained,
    );
    await waitFor(async () => ((await device('opener'))?.entities.length === 1 ? true : undefined));
    expect((await command('opener.gate', 'open')).status).toBe(202);
    await waitFor(async () => ((await state('opener', 'gate')) === 'open' ? true : undefined));
    expect((await device('opener'))?.entities[0]).toMatchObject({ kind: 'cover', deviceClass: 'gate' });
  });

  it('logs a bad config with the path of each error and keeps going', async () => {
    await installer.publishAsync('homeassistant/sensor/bad/one/config', '{"stat_t": 42, "dev": {"ids": []}}', { qos: 1 });
    await installer.publishAsync('homeassistant/sensor/bad/two/config', '{"stat_t":"x","val_tpl":"{% if value %}1{% endif %}"}', {
      qos: 1,
    });
    await waitFor(() =>
      /ignoring homeassistant\/sensor\/bad\/two\/config: unsupported value_template/.test(server.logs()) ? true : undefined,
    );
    expect(server.logs()).toMatch(/ignoring homeassistant\/sensor\/bad\/one\/config: state_topic: .*; device\.identifiers: /);
    expect(await device('bad')).toBeUndefined();
    expect((await getJson<{ status: string }>(server.url('/api/health'))).body.status).toBe('ok');
  });

  it('rediscovers everything from retained configs after a restart', async () => {
    await server.stop();
    server = await startServer({ dataDir: server.dataDir, ports: { mqtt: server.mqtt } });
    await waitFor(async () => (plug.connected ? true : undefined), 10_000, 'the plug to reconnect');
    await waitFor(async () => ((await command('plug-a1.relay', 'ON')).status === 202 ? true : undefined), 10_000);
    expect(await state('plug-a1', 'relay')).toBe('ON');
  });

  it('refuses a command while the device is unavailable, with 409', async () => {
    await installer.endAsync();
    installer = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
    await installer.publishAsync('plug-a1/status', 'offline', retained);
    await waitFor(async () => ((await device('plug-a1'))?.online === false ? true : undefined));
    const response = await command('plug-a1.relay', 'OFF');
    expect(response.status).toBe(409);
    expect(response.body.message).toBe('plug-a1 is offline');
  });

  it('forgets an entity whose config is emptied, keeping its history', async () => {
    await installer.publishAsync('homeassistant/binary_sensor/hall/door/config', '', retained);
    await waitFor(() => (/hall\.door removed from discovery \(its history is kept\)/.test(server.logs()) ? true : undefined));
    await installer.publishAsync('hall/door', 'OPEN', { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(await state('hall', 'door')).toBe(false);
  });
});
