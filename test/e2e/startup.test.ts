import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runServerExpectingFailure, startServer, tempDataDir } from '../support/server';

const blockers: net.Server[] = [];

afterAll(() => {
  for (const b of blockers) b.close();
});

describe('start-up errors', () => {
  it('reports every invalid config value with its path and exits 1', async () => {
    const dir = tempDataDir();
    fs.writeFileSync(path.join(dir, 'ninho.yaml'), 'mqtt:\n  port: -5\nhttp:\n  prot: 80\n');
    const { code, output } = await runServerExpectingFailure({ NINHO_COAP_PORT: 'udp', NINHO_MQTT_PORT: '' }, dir);
    expect(code).toBe(1);
    expect(output).toContain('mqtt.port: Too small');
    expect(output).toContain('coap.port:');
    expect(output).toMatch(/http: Unrecognized key: "prot"/);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says a config file is not YAML', async () => {
    const dir = tempDataDir();
    fs.writeFileSync(path.join(dir, 'ninho.yaml'), 'mqtt: [unclosed\n');
    const { code, output } = await runServerExpectingFailure({}, dir);
    expect(code).toBe(1);
    expect(output).toMatch(/ninho\.yaml.*not valid YAML/s);
  });

  it('gives one clear line and exit code 1 when a port is in use', async () => {
    const blocker = net.createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const { code, output } = await runServerExpectingFailure({ NINHO_MQTT_PORT: String(port) });
    expect(code).toBe(1);
    const errorLines = output.split('\n').filter((l) => l.startsWith('ninho:'));
    expect(errorLines).toEqual([`ninho: MQTT port ${port} is already in use; stop the other program or choose another port`]);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('refuses a data directory that another ninho process is using', async () => {
    const running = await startServer();
    try {
      const { code, output } = await runServerExpectingFailure({ NINHO_DATA_DIR: running.dataDir });
      expect(code).toBe(1);
      expect(output.split('\n').filter((l) => l.startsWith('ninho:'))).toEqual([
        `ninho: data directory ${running.dataDir} is in use by another ninho process`,
      ]);
      expect((await fetch(running.url('/api/health'))).status).toBe(200);
    } finally {
      await running.stop();
    }
  });
});

describe('shutdown', () => {
  it('stops on SIGTERM while MQTT, MQTT-over-WebSocket and live clients are connected', async () => {
    const server = await startServer();
    const tcp = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
    const ws = await connectAsync(`ws://127.0.0.1:${server.http}/mqtt`, { reconnectPeriod: 0 });
    const live = new WebSocket(`ws://127.0.0.1:${server.http}/api/live`);
    await new Promise((resolve) => live.once('open', resolve));
    // Before the fix the broker's listener waited for its own clients, and this never returned.
    expect(await server.stop()).toBe(0);
    expect(server.logs()).toMatch(/flushed on shutdown/);
    tcp.end(true);
    ws.end(true);
    live.terminate();
  });
});
