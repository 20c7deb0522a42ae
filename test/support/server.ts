import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(REPO_ROOT, 'server', 'dist', 'main.js');
const READY = /ready http=(\d+) mqtt=(\d+) coap=(\d+)(?: mqtts=(\d+))?/;

export interface RunningServer {
  http: number;
  mqtt: number;
  coap: number;
  /** The MQTT over TLS port, when the server was started with a certificate. */
  mqtts: number | undefined;
  dataDir: string;
  child: ChildProcess;
  logs(): string;
  url(pathname: string): string;
  /** Sends the signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ninho-test-'));
}

export interface StartOptions {
  dataDir?: string;
  env?: Record<string, string>;
  /** Fixed ports, e.g. to restart on the same ones; 0 (ephemeral) by default. */
  ports?: { http?: number; mqtt?: number; coap?: number };
}

/** Spawns the built server (server/dist) as a user would run it, on ephemeral ports. */
export function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const child = spawn(process.execPath, [MAIN], {
    cwd: dataDir,
    env: {
      ...process.env,
      NO_COLOR: '1',
      NINHO_DATA_DIR: dataDir,
      NINHO_HOST: '127.0.0.1',
      NINHO_HTTP_PORT: String(options.ports?.http ?? 0),
      NINHO_MQTT_PORT: String(options.ports?.mqtt ?? 0),
      NINHO_COAP_PORT: String(options.ports?.coap ?? 0),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = READY.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const [, http, mqtt, coap, mqtts] = match.map((n) => (n === undefined ? undefined : Number(n))) as [
        number,
        number,
        number,
        number,
        number | undefined,
      ];
      resolve({
        http,
        mqtt,
        coap,
        mqtts,
        dataDir,
        child,
        logs: () => output,
        url: (pathname) => `http://127.0.0.1:${http}${pathname}`,
        stop: async (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/** Runs the server expecting it to fail at start; resolves with its exit code and output. */
export function runServerExpectingFailure(
  env: Record<string, string>,
  cwd = tempDataDir(),
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: {
      ...process.env,
      NO_COLOR: '1',
      NINHO_DATA_DIR: cwd,
      NINHO_HOST: '127.0.0.1',
      NINHO_HTTP_PORT: '0',
      NINHO_MQTT_PORT: '0',
      NINHO_COAP_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

/** Polls until the check returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
}

/** POST /api/entities/:id/command; a string body is sent as it is (to test malformed JSON). */
export async function postCommand<T = { message?: string }>(
  server: RunningServer,
  entityId: string,
  body: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(server.url(`/api/entities/${entityId}/command`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** A DHT11 reading in the Tasmota convention, as published on tele/<topic>/SENSOR. */
export function dht11Payload(temperature: number, humidity: number): string {
  return JSON.stringify({ DHT11: { Temperature: temperature, Humidity: humidity }, TempUnit: 'C' });
}
