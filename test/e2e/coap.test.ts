import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promisify } from 'node:util';
import { generate, parse, type ParsedPacket } from 'coap-packet';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coapRequest, observeEntity, type CoapMethod, type CoapReply } from '../support/coap';
import { dht11Payload, getJson, startServer, waitFor, type RunningServer } from '../support/server';

let server: RunningServer;
let relay: MqttClient;

function coap(method: CoapMethod, pathname: string, options: Parameters<typeof coapRequest>[3] = {}): Promise<CoapReply> {
  return coapRequest(server.coap, method, pathname, options);
}

beforeAll(async () => {
  server = await startServer();
  // A simulated Tasmota board with a DHT11 and a relay that confirms POWER after 300 ms.
  relay = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { clientId: 'relay-dht', reconnectPeriod: 0 });
  await relay.subscribeAsync('cmnd/relay-dht/POWER', { qos: 1 });
  relay.on('message', (_topic, payload) => {
    setTimeout(() => void relay.publishAsync('stat/relay-dht/POWER', payload.toString() === 'TOGGLE' ? 'ON' : payload.toString()), 300);
  });
  await relay.publishAsync('tele/relay-dht/SENSOR', dht11Payload(19.5, 50), {
    qos: 1,
  });
  await relay.publishAsync('stat/relay-dht/POWER', 'OFF', { qos: 1 });
  await waitFor(async () =>
    (await getJson<{ entities: unknown[] }>(server.url('/api/devices/relay-dht'))).body.entities?.length === 3 ? true : undefined,
  );
});

afterAll(async () => {
  await relay?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('CoAP endpoint', () => {
  it('GET /devices lists devices as application/json (2.05)', async () => {
    const reply = await coap('GET', '/devices');
    expect(reply.code).toBe('2.05');
    expect(reply.format).toBe('application/json');
    expect((JSON.parse(reply.body) as Array<{ id: string }>).map((d) => d.id)).toContain('relay-dht');
  });

  it('GET an entity, confirmable and non-confirmable', async () => {
    for (const confirmable of [true, false]) {
      const reply = await coap('GET', '/devices/relay-dht/temperature', { confirmable });
      expect(reply.code).toBe('2.05');
      expect(JSON.parse(reply.body)).toMatchObject({ id: 'relay-dht.temperature', state: 19.5, unit: '°C' });
    }
  });

  it('POST telemetry creates a device (2.01), then updates it (2.04)', async () => {
    const created = await coap('POST', '/devices/attic-node', { body: '{"temperature":21.5,"humidity":40}', format: 'application/json' });
    expect(created.code).toBe('2.01');
    const updated = await coap('POST', '/devices/attic-node', {
      body: '{"temperature":21.7}',
      format: 'application/json',
      confirmable: false,
    });
    expect(updated.code).toBe('2.04');
    const { body } = await getJson<{ entities: Array<{ id: string; state: unknown }> }>(server.url('/api/devices/attic-node'));
    expect(body.entities.find((e) => e.id === 'attic-node.temperature')?.state).toBe(21.7);
  });

  it('answers each error with its code: 4.00, 4.04, 4.05, 4.15', async () => {
    expect((await coap('POST', '/devices/attic-node', { body: '{"temperature":', format: 'application/json' })).code).toBe('4.00');
    expect((await coap('POST', '/devices/attic-node', { body: '{"Bad Key":1}', format: 'application/json' })).code).toBe('4.00');
    expect((await coap('GET', '/nothing/here')).code).toBe('4.04');
    expect((await coap('GET', '/devices/ghost/temperature')).code).toBe('4.04');
    expect((await coap('DELETE', '/devices')).code).toBe('4.05');
    expect((await coap('PUT', '/devices/relay-dht/temperature', { body: 'ON', format: 'text/plain' })).code).toBe('4.05');
    expect((await coap('PUT', '/devices/relay-dht/power', { body: '<on/>', format: 'application/xml' })).code).toBe('4.15');
    expect((await coap('POST', '/devices/attic-node', { body: 'temperature=1', format: 'text/plain' })).code).toBe('4.15');
  });

  it('observes an entity and notifies on every change', async () => {
    const observation = await observeEntity(server.coap, '/devices/relay-dht/humidity');
    const notifications = observation.states;
    await waitFor(() => (notifications.length >= 1 ? true : undefined));
    for (const h of [51, 52, 53]) {
      await relay.publishAsync('tele/relay-dht/SENSOR', dht11Payload(19.5, h), {
        qos: 1,
      });
    }
    await waitFor(() => (notifications.length >= 4 ? true : undefined), 5000, 'three notifications');
    expect(notifications).toEqual([50, 51, 52, 53]);
    observation.close();
  });

  it('answers a slow command with an empty ACK first and a separate 2.04 later', async () => {
    const socket = dgram.createSocket('udp4');
    const packets: ParsedPacket[] = [];
    socket.on('message', (message) => {
      const packet = parse(message);
      packets.push(packet);
      // Acknowledge the separate (confirmable) response, as a real client must.
      if (packet.confirmable) socket.send(generate({ messageId: packet.messageId, ack: true, code: '0.00' }), server.coap, '127.0.0.1');
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const put = generate({
      messageId: 4242,
      token: Buffer.from([1, 2, 3, 4]),
      confirmable: true,
      code: 'PUT',
      options: [
        { name: 'Uri-Path', value: Buffer.from('devices') },
        { name: 'Uri-Path', value: Buffer.from('relay-dht') },
        { name: 'Uri-Path', value: Buffer.from('power') },
        { name: 'Content-Format', value: Buffer.from([0]) },
      ],
      payload: Buffer.from('ON'),
    });
    socket.send(put, server.coap, '127.0.0.1');
    await waitFor(() => (packets.length >= 2 ? true : undefined), 5000, 'ACK and separate response');
    socket.close();
    const [ack, response] = packets as [ParsedPacket, ParsedPacket];
    expect(ack).toMatchObject({ ack: true, code: '0.00', messageId: 4242 });
    expect(response).toMatchObject({ confirmable: true, code: '2.04' });
    expect(response.token).toEqual(Buffer.from([1, 2, 3, 4]));
    const { body } = await getJson<{ entities: Array<{ id: string; state: unknown }> }>(server.url('/api/devices/relay-dht'));
    expect(body.entities.find((e) => e.id === 'relay-dht.power')?.state).toBe('ON');
  });

  it('survives a garbage datagram and keeps its data', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) =>
      socket.send(Buffer.from([0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef]), server.coap, '127.0.0.1', () => resolve()),
    );
    await new Promise<void>((resolve) => socket.send(Buffer.alloc(0), server.coap, '127.0.0.1', () => resolve()));
    socket.close();
    const reply = await coap('GET', '/devices/relay-dht/temperature');
    expect(reply.code).toBe('2.05');
    expect(JSON.parse(reply.body)).toMatchObject({ state: 19.5 });
  });

  it('interoperates with libcoap coap-client-notls', async () => {
    const { stdout } = await promisify(execFile)('coap-client-notls', [
      '-m',
      'get',
      `coap://127.0.0.1:${server.coap}/devices/relay-dht/temperature`,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ id: 'relay-dht.temperature', state: 19.5 });
    const put = await promisify(execFile)('coap-client-notls', [
      '-m',
      'put',
      '-t',
      'text/plain',
      '-e',
      'OFF',
      `coap://127.0.0.1:${server.coap}/devices/relay-dht/power`,
    ]);
    expect(put.stderr).not.toMatch(/4\.\d\d|5\.\d\d/);
  });
});
