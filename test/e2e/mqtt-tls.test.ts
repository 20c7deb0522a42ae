import fs from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoSub, run, selfSignedCertificate } from '../support/commands';
import { runServerExpectingFailure, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

let server: RunningServer;
let cert: string;
let key: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  const dir = tempDataDir();
  ({ cert, key } = await selfSignedCertificate(dir));
  server = await startServer({ dataDir: dir, env: { NINHO_MQTT_TLS_PORT: '0', NINHO_MQTT_TLS_CERT: cert, NINHO_MQTT_TLS_KEY: key } });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await server?.stop();
});

describe('MQTT over TLS', () => {
  it('logs the mqtts port it bound', () => {
    expect(server.mqtts).toBeGreaterThan(0);
    expect(server.logs()).toMatch(/MQTT listening on tls port \d+/);
  });

  it('carries QoS 1 messages between a TLS client and a plain TCP client', async () => {
    const secure = await connectAsync(`mqtts://127.0.0.1:${server.mqtts}`, { ca: fs.readFileSync(cert), reconnectPeriod: 0 });
    const plain = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
    clients.push(secure, plain);
    const seen: string[] = [];
    secure.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await secure.subscribeAsync('tls/#', { qos: 1 });
    await plain.publishAsync('tls/from-plain', 'hello', { qos: 1 });
    await waitFor(() => (seen.length > 0 ? true : undefined));
    expect(seen).toEqual(['tls/from-plain hello']);
  });

  it('refuses a client that does not trust the certificate, and keeps serving', async () => {
    await expect(connectAsync(`mqtts://127.0.0.1:${server.mqtts}`, { reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(
      /self[- ]signed/i,
    );
    await waitFor(() => (/TLS handshake failed/.test(server.logs()) ? true : undefined));
    const again = await connectAsync(`mqtts://127.0.0.1:${server.mqtts}`, { ca: fs.readFileSync(cert), reconnectPeriod: 0 });
    clients.push(again);
    expect(again.connected).toBe(true);
  });

  it('interoperates with mosquitto_pub and mosquitto_sub over TLS', async () => {
    const tlsArgs = ['-h', '127.0.0.1', '-p', String(server.mqtts), '--cafile', cert];
    const sub = await mosquittoSub([...tlsArgs, '-t', 'tls/cli', '-C', '1', '-q', '1']);
    const pub = await run('mosquitto_pub', [...tlsArgs, '-t', 'tls/cli', '-m', 'via tls', '-q', '1']);
    expect(pub.code, pub.stderr).toBe(0);
    expect(await sub.exited).toBe(0);
    expect(sub.output()).toMatch(/^via tls$/m);
  });
});

describe('MQTT TLS misconfiguration', () => {
  it('stops the start with one clear error when the key file is missing', async () => {
    const dir = tempDataDir();
    const { cert: certFile } = await selfSignedCertificate(dir);
    const { code, output } = await runServerExpectingFailure({
      NINHO_MQTT_TLS_PORT: '0',
      NINHO_MQTT_TLS_CERT: certFile,
      NINHO_MQTT_TLS_KEY: path.join(dir, 'missing-key.pem'),
    });
    expect(code).toBe(1);
    expect(output).toMatch(/ninho: invalid configuration \(mqtt\.tls\):\s+key: cannot read .*missing-key\.pem: ENOENT/);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('rejects a TLS section without a certificate, naming the path', async () => {
    const { code, output } = await runServerExpectingFailure({ NINHO_MQTT_TLS_PORT: '8883' });
    expect(code).toBe(1);
    expect(output).toMatch(/mqtt\.tls\.cert: /);
    expect(output).toMatch(/mqtt\.tls\.key: /);
  });
});
