import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ReadlineParser, SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postCommand, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

interface DeviceView {
  id: string;
  transport: string;
  online: boolean;
  entities: Array<{ key: string; kind: string; unit: string | null; state: unknown }>;
}

let server: RunningServer;
let dir: string;
let socat: ChildProcess | undefined;
/** The device's end of the serial line, as the Arduino would hold it. */
let host: SerialPort | undefined;
const fromNinho: string[] = [];

/** A real pseudo-terminal pair: ninho opens `device`, the test plays the Arduino on `host`. */
async function plugIn(): Promise<void> {
  for (const link of ['device', 'host']) fs.rmSync(path.join(dir, link), { force: true });
  socat = spawn('socat', [`pty,raw,echo=0,link=${path.join(dir, 'device')}`, `pty,raw,echo=0,link=${path.join(dir, 'host')}`], {
    stdio: 'ignore',
  });
  await waitFor(() => (fs.existsSync(path.join(dir, 'device')) && fs.existsSync(path.join(dir, 'host')) ? true : undefined), 5000, 'socat');
  const port = new SerialPort({ path: path.join(dir, 'host'), baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  port.pipe(new ReadlineParser({ delimiter: '\n' })).on('data', (line: string) => {
    fromNinho.push(line);
    const { id, cmd } = JSON.parse(line) as { id: string; cmd: string };
    port.write(`${JSON.stringify({ id, power: cmd })}\n`); // the relay switches and says so
  });
  host = port;
}

async function unplug(): Promise<void> {
  const line = host;
  host = undefined;
  if (line?.isOpen) await new Promise<void>((resolve) => line.close(() => resolve()));
  const process = socat;
  socat = undefined;
  if (process && process.exitCode === null) {
    await new Promise((resolve) => {
      process.once('exit', resolve);
      process.kill('SIGTERM');
    });
  }
}

function send(reading: object | string): void {
  host?.write(`${typeof reading === 'string' ? reading : JSON.stringify(reading)}\n`);
}

async function device(id: string): Promise<DeviceView | undefined> {
  const { status, body } = await getJson<DeviceView>(server.url(`/api/devices/${id}`));
  return status === 200 ? body : undefined;
}

async function state(id: string, key: string): Promise<unknown> {
  return (await device(id))?.entities.find((e) => e.key === key)?.state;
}

beforeAll(async () => {
  dir = tempDataDir();
  await plugIn();
  const config = path.join(dir, 'ninho.yaml');
  fs.writeFileSync(
    config,
    [
      'plugins:',
      '  options:',
      '    serial-sensor:',
      '      maxReconnectDelayMs: 1000',
      '      ports:',
      `        - path: ${path.join(dir, 'device')}`,
    ].join('\n'),
  );
  server = await startServer({ dataDir: dir, env: { NINHO_CONFIG: config } });
  await waitFor(() => (/serial .*device open at 115200 baud/.test(server.logs()) ? true : undefined), 5000, 'the port to open');
});

afterAll(async () => {
  await unplug();
  await server?.stop();
});

describe('serial-sensor over a real pseudo-terminal (socat)', () => {
  it('turns a JSON line into a serial device with temperature and humidity', async () => {
    send({ id: 'bench-1', temperature: 22.5, humidity: 41 });
    const view = await waitFor(async () => {
      const d = await device('bench-1');
      return d?.entities.length === 2 && d.entities.every((e) => e.state !== null) ? d : undefined;
    });
    expect(view.transport).toBe('serial');
    expect(Object.fromEntries(view.entities.map((e) => [e.key, [e.state, e.unit]]))).toEqual({
      temperature: [22.5, '°C'],
      humidity: [41, '%'],
    });
  });

  it('logs and skips a garbage line, then carries on', async () => {
    send('\u0000\u00ff garbage from a reset board');
    send({ id: 'Bad Id!', temperature: 1 });
    send({ id: 'bench-1', temperature: 23 });
    await waitFor(async () => ((await state('bench-1', 'temperature')) === 23 ? true : undefined));
    expect(server.logs()).toMatch(/skipped a line that is not a reading \(\(line\): .*garbage from a reset board/);
    expect(server.logs()).toMatch(/skipped a line that is not a reading \(id: letters, digits, _ and - only\)/);
  });

  it('sends a command down the line and answers once the device confirms', async () => {
    send({ id: 'bench-1', power: 'OFF' });
    await waitFor(async () => ((await state('bench-1', 'power')) === 'OFF' ? true : undefined));
    const response = await postCommand(server, 'bench-1.power', { command: 'ON' });
    expect(response.status).toBe(202);
    expect(fromNinho.map((l) => JSON.parse(l) as unknown)).toContainEqual({ id: 'bench-1', cmd: 'ON', entity: 'power' });
    expect(await state('bench-1', 'power')).toBe('ON');
  });

  it('reconnects after an unplug and a replug, with no restart and no duplicate device', async () => {
    const devicesBefore = (await getJson<unknown[]>(server.url('/api/devices'))).body.length;
    await unplug();
    await waitFor(() => (/serial .*device unavailable/.test(server.logs()) ? true : undefined), 5000, 'the unplug to be noticed');
    await waitFor(async () => ((await device('bench-1'))?.online === false ? true : undefined));
    const offline = await postCommand(server, 'bench-1.power', { command: 'OFF' });
    expect(offline.status).toBe(409);

    await plugIn();
    await waitFor(() => ((server.logs().match(/device open at 115200 baud/g) ?? []).length >= 2 ? true : undefined), 10_000, 'the reopen');
    send({ id: 'bench-1', temperature: 24.5, humidity: 40 });
    await waitFor(async () => ((await state('bench-1', 'temperature')) === 24.5 ? true : undefined));
    expect((await device('bench-1'))?.online).toBe(true);
    expect((await getJson<unknown[]>(server.url('/api/devices'))).body.length).toBe(devicesBefore);
  });

  it('lists serial ports without crashing, with or without udev', async () => {
    const { status, body } = await getJson<Array<{ path: string }>>(server.url('/api/serial/ports'));
    expect(status).toBe(200);
    expect(Array.isArray(body)).toBe(true);
  });
});
