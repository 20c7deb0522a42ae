import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { GarageSimulator } from '../../hardware/garage-door/simulator';
import { coapRequest, observeEntity } from '../support/coap';
import { getJson, postCommand, type RunningServer, startServer, tempDataDir, waitFor } from '../support/server';

interface EntityView {
  key: string;
  kind: string;
  name: string;
  deviceClass: string | null;
  state: unknown;
}
interface DeviceView {
  id: string;
  name: string;
  online: boolean;
  entities: EntityView[];
}
interface LiveState {
  type: string;
  entityId?: string;
  state?: unknown;
}

let server: RunningServer;
let config: string;
let garage: GarageSimulator;
let gate: GarageSimulator;
let live: WebSocket;
const states: LiveState[] = [];

const url = (): string => `mqtt://127.0.0.1:${server.mqtt}`;

function command(entityId: string, value: string): Promise<{ status: number; body: { message?: string } }> {
  return postCommand<{ message?: string }>(server, entityId, { command: value });
}

async function device(id: string): Promise<DeviceView | undefined> {
  const { status, body } = await getJson<DeviceView>(server.url(`/api/devices/${id}`));
  return status === 200 ? body : undefined;
}

async function doorState(id: string): Promise<unknown> {
  return (await device(id))?.entities.find((e) => e.key === 'door')?.state;
}

/** The door states pushed on /api/live for one entity since `from`. */
function doorHistory(entityId: string, from = 0): unknown[] {
  return states
    .slice(from)
    .filter((m) => m.type === 'state' && m.entityId === entityId)
    .map((m) => m.state);
}

async function openLive(): Promise<void> {
  live = new WebSocket(`ws://127.0.0.1:${server.http}/api/live`);
  live.on('message', (data: Buffer) => states.push(JSON.parse(data.toString()) as LiveState));
  await new Promise((resolve) => live.once('open', resolve));
}

beforeAll(async () => {
  const dataDir = tempDataDir();
  config = path.join(dataDir, 'ninho.yaml');
  fs.writeFileSync(config, 'plugins:\n  options:\n    garage-door:\n      travelTimeoutMs: 1500\n      commandTimeoutMs: 2000\n');
  server = await startServer({ dataDir, env: { NINHO_CONFIG: config } });
  await openLive();
  garage = await GarageSimulator.start({ url: url(), id: 'garage-1', travelMs: 600, name: 'Garage' });
  gate = await GarageSimulator.start({ url: url(), id: 'front-gate', travelMs: 400, deviceClass: 'gate', name: 'Front gate' });
  await waitFor(async () => ((await device('garage-1'))?.online && (await device('front-gate'))?.online ? true : undefined));
});

afterAll(async () => {
  live?.terminate();
  await gate?.stop().catch(() => undefined);
  await garage?.stop().catch(() => undefined);
  await server?.stop();
});

describe('garage-door plugin with the simulated controller over MQTT', () => {
  it('shows a garage door and a gate with their parking-spot sensors', async () => {
    const garageView = await device('garage-1');
    expect(garageView?.name).toBe('Garage');
    expect(garageView?.entities.map((e) => [e.key, e.kind, e.deviceClass])).toEqual([
      ['door', 'cover', 'garage'],
      ['obstructed', 'binary_sensor', 'problem'],
      ['occupancy', 'binary_sensor', 'occupancy'],
      ['motion', 'binary_sensor', 'motion'],
    ]);
    await waitFor(async () => ((await doorState('garage-1')) === 'closed' ? true : undefined));
    const gateView = await device('front-gate');
    expect(gateView?.entities.find((e) => e.key === 'door')).toMatchObject({ name: 'Gate', deviceClass: 'gate' });
  });

  it('opens: the controller receives OPEN and the door goes opening, then open', async () => {
    const from = states.length;
    const response = await command('garage-1.door', 'open');
    expect(response.status).toBe(202);
    expect(garage.received).toEqual(['OPEN']);
    await waitFor(() => (doorHistory('garage-1.door', from).includes('open') ? true : undefined), 5000, 'the door to open');
    expect(doorHistory('garage-1.door', from)).toEqual(['opening', 'open']);
  });

  it('stops half way when told to', async () => {
    const from = states.length;
    expect((await command('garage-1.door', 'close')).status).toBe(202);
    expect((await command('garage-1.door', 'stop')).status).toBe(202);
    expect(garage.received.slice(-2)).toEqual(['CLOSE', 'STOP']);
    await waitFor(() => (doorHistory('garage-1.door', from).includes('stopped') ? true : undefined));
    await new Promise((r) => setTimeout(r, 800)); // longer than the travel time: no end stop follows
    expect(doorHistory('garage-1.door', from)).toEqual(['closing', 'stopped']);
  });

  it('marks the door unknown when no end stop reports within the travel timeout', async () => {
    garage.jammed = true;
    const from = states.length;
    try {
      expect((await command('garage-1.door', 'close')).status).toBe(202);
      await waitFor(() => (doorHistory('garage-1.door', from).includes('unknown') ? true : undefined), 5000, 'the travel timeout');
      expect(doorHistory('garage-1.door', from)).toEqual(['closing', 'unknown']);
      expect(server.logs()).toMatch(/garage-1: no end-stop report within 1500 ms of closing; state unknown/);
    } finally {
      garage.jammed = false;
    }
  });

  it('reports a car arriving at the parking spot: motion, occupied, then still', async () => {
    const from = states.length;
    await garage.carArrives(200);
    await waitFor(() => (doorHistory('garage-1.motion', from).length >= 2 ? true : undefined));
    expect(doorHistory('garage-1.occupancy', from)).toEqual([true]);
    expect(doorHistory('garage-1.motion', from)).toEqual([true, false]);
  });

  it('refuses a command the door does not know, with 400', async () => {
    const response = await command('garage-1.door', 'levitate');
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/open, close or stop/);
  });
});

describe('the same door over CoAP', () => {
  it('reads, observes and commands the gate', async () => {
    const read = await coapRequest(server.coap, 'GET', '/devices/front-gate/door');
    expect(read.code).toBe('2.05');
    expect(JSON.parse(read.body)).toMatchObject({ state: 'closed' });

    const observation = await observeEntity(server.coap, '/devices/front-gate/door');
    const notifications = observation.states;
    await waitFor(() => (notifications.length > 0 ? true : undefined));

    const put = await coapRequest(server.coap, 'PUT', '/devices/front-gate/door', { body: 'open', format: 'text/plain' });
    expect(put.code).toBe('2.04');
    expect(gate.received).toEqual(['OPEN']);
    await waitFor(() => (notifications.includes('open') ? true : undefined), 5000, 'the open notification');
    expect(notifications).toEqual(['closed', 'opening', 'open']);
    observation.close();
  });
});

describe('availability', () => {
  it('fails a command to an offline controller with 409 and publishes nothing', async () => {
    const sent = garage.received.length;
    garage.crash();
    await waitFor(async () => ((await device('garage-1'))?.online === false ? true : undefined), 5000, 'the last will');
    const response = await command('garage-1.door', 'open');
    expect(response.status).toBe(409);
    expect(response.body.message).toBe('garage-1 is offline');
    expect(garage.received.length).toBe(sent);
  });

  it('knows after a restart, from retained messages, that the gate is a gate and is online', async () => {
    await server.stop();
    server = await startServer({ dataDir: server.dataDir, env: { NINHO_CONFIG: config }, ports: { mqtt: server.mqtt } });
    // The simulator reconnects on its own and says "online" again, as the firmware does.
    await waitFor(async () => (gate.connected && (await command('front-gate.door', 'close')).status === 202 ? true : undefined), 10_000);
    // Had the retained info not reached the plugin, that "online" would have re-registered a garage door.
    expect((await device('front-gate'))?.entities.find((e) => e.key === 'door')?.deviceClass).toBe('gate');
    expect(gate.received.at(-1)).toBe('CLOSE');
  });
});
