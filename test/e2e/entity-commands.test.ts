import fs from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postCommand, type RunningServer, startServer, tempDataDir, waitFor } from '../support/server';

interface ErrorBody {
  message: string;
  errors?: Array<{ path: string; message: string }>;
}

let server: RunningServer;
let relay: MqttClient;
/** What the simulated Sonoff receives on cmnd/sonoff-th/POWER. */
const received: string[] = [];
/** Whether the simulated relay answers commands with its stat/…/POWER confirmation. */
let confirms = true;

function command(entityId: string, body: unknown): Promise<{ status: number; body: ErrorBody & { status?: string } }> {
  return postCommand<ErrorBody & { status?: string }>(server, entityId, body);
}

async function powerState(): Promise<unknown> {
  const { body } = await getJson<{ entities: Array<{ key: string; state: unknown }> }>(server.url('/api/devices/sonoff-th'));
  return body.entities.find((e) => e.key === 'power')?.state;
}

beforeAll(async () => {
  const dataDir = tempDataDir();
  const config = path.join(dataDir, 'ninho.yaml');
  fs.writeFileSync(config, 'plugins:\n  options:\n    esp8266-dht11:\n      commandTimeoutMs: 500\n');
  server = await startServer({ dataDir, env: { NINHO_CONFIG: config } });
  // A Sonoff TH (ESP8266, DHT11 and a relay) on Tasmota: it switches and confirms on stat/<topic>/POWER.
  relay = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, {
    clientId: 'sonoff-th',
    reconnectPeriod: 0,
    will: { topic: 'tele/sonoff-th/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true },
  });
  await relay.subscribeAsync('cmnd/sonoff-th/POWER', { qos: 1 });
  relay.on('message', (topic, payload) => {
    const value = payload.toString();
    received.push(value);
    if (confirms) void relay.publishAsync('stat/sonoff-th/POWER', value === 'TOGGLE' ? 'ON' : value, { qos: 1 });
  });
  await relay.publishAsync('tele/sonoff-th/LWT', 'Online', { qos: 1, retain: true });
  await relay.publishAsync('tele/sonoff-th/STATE', JSON.stringify({ POWER: 'OFF' }), { qos: 1 });
  await waitFor(async () => ((await powerState()) === 'OFF' ? true : undefined), 5000, 'the relay entity');
});

afterAll(async () => {
  await relay?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('POST /api/entities/:id/command', () => {
  it('switches the relay over MQTT and answers once the device confirmed', async () => {
    const response = await command('sonoff-th.power', { command: 'ON' });
    expect(response).toEqual({ status: 202, body: { entityId: 'sonoff-th.power', command: 'ON', status: 'accepted' } });
    expect(received).toContain('ON');
    await waitFor(async () => ((await powerState()) === 'ON' ? true : undefined));
  });

  it('answers 404 for an unknown entity and 405 for a sensor', async () => {
    expect((await command('nobody.power', { command: 'ON' })).status).toBe(404);
    await relay.publishAsync('tele/sonoff-th/SENSOR', JSON.stringify({ DHT11: { Temperature: 20, Humidity: 50 } }), { qos: 1 });
    await waitFor(
      async () =>
        ((await getJson(server.url('/api/devices/sonoff-th'))).body as { entities: unknown[] }).entities.length === 3 || undefined,
    );
    const readOnly = await command('sonoff-th.temperature', { command: 'ON' });
    expect(readOnly.status).toBe(405);
    expect(readOnly.body.message).toMatch(/sensor and accepts no commands/);
  });

  it('answers 400 with the path of each error for a bad body, and for bad JSON', async () => {
    const missing = await command('sonoff-th.power', { cmd: 'ON' });
    expect(missing.status).toBe(400);
    expect(missing.body.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(['command']));
    const malformed = await command('sonoff-th.power', '{"command": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/not valid JSON/);
    const huge = await command('sonoff-th.power', { command: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge).toEqual({ status: 413, body: { message: 'body is larger than 1 MB' } });
    const rejected = await command('sonoff-th.power', { command: 'DIM' });
    expect(rejected.status).toBe(400);
    expect(rejected.body.message).toMatch(/ON, OFF or TOGGLE/);
  });

  it('answers 504 when the device does not confirm in time', async () => {
    confirms = false;
    try {
      const response = await command('sonoff-th.power', { command: 'OFF' });
      expect(response.status).toBe(504);
      expect(response.body.message).toMatch(/did not confirm POWER OFF within 500 ms/);
    } finally {
      confirms = true;
    }
  });

  it('answers 409, without publishing, when the device is offline', async () => {
    const before = received.length;
    relay.stream.destroy(); // dies without DISCONNECT: the broker publishes its last will
    await waitFor(async () => {
      const { body } = await getJson<{ online: boolean }>(server.url('/api/devices/sonoff-th'));
      return body.online === false ? true : undefined;
    });
    const response = await command('sonoff-th.power', { command: 'ON' });
    expect(response.status).toBe(409);
    expect(response.body.message).toMatch(/sonoff-th is offline/);
    expect(received.length).toBe(before);
    expect((await getJson(server.url('/api/health'))).status).toBe(200);
  });
});
