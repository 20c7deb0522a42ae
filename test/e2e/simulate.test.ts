import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postCommand, REPO_ROOT, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

let server: RunningServer;
let socat: ChildProcess;
let simulate: ChildProcess;
let output = '';
let dir: string;

async function device(id: string): Promise<{ online: boolean; entities: Array<{ key: string; state: unknown }> } | undefined> {
  const { status, body } = await getJson<{ online: boolean; entities: Array<{ key: string; state: unknown }> }>(
    server.url(`/api/devices/${id}`),
  );
  return status === 200 ? body : undefined;
}

beforeAll(async () => {
  dir = tempDataDir();
  socat = spawn('socat', [`pty,raw,echo=0,link=${path.join(dir, 'device')}`, `pty,raw,echo=0,link=${path.join(dir, 'host')}`], {
    stdio: 'ignore',
  });
  await waitFor(() => (fs.existsSync(path.join(dir, 'device')) && fs.existsSync(path.join(dir, 'host')) ? true : undefined));
  const config = path.join(dir, 'ninho.yaml');
  fs.writeFileSync(config, `plugins:\n  options:\n    serial-sensor:\n      ports:\n        - path: ${path.join(dir, 'device')}\n`);
  server = await startServer({ dataDir: dir, env: { NINHO_CONFIG: config } });
  simulate = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO_ROOT, 'hardware', 'simulate.ts'),
      '--url',
      `mqtt://127.0.0.1:${server.mqtt}`,
      '--dht11',
      '2',
      '--garage',
      '2',
      '--serial',
      path.join(dir, 'host'),
      '--interval',
      '1',
      '--travel',
      '1',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  simulate.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  simulate.stderr?.on('data', (c: Buffer) => (output += c.toString()));
});

afterAll(async () => {
  if (simulate.exitCode === null) simulate.kill('SIGKILL');
  socat.kill();
  await server?.stop();
});

describe('npm run simulate', () => {
  it('brings a demo home to life: DHT11 sensors, a garage, a gate and a serial sensor', async () => {
    await waitFor(
      async () => {
        const ids = ['dht-1', 'dht-2', 'garage-1', 'gate-1', 'bench-1'];
        const devices = await Promise.all(ids.map((id) => device(id)));
        return devices.every((d) => d?.online && d.entities.some((e) => e.state !== null)) ? true : undefined;
      },
      20_000,
      `every simulated device (simulator said: ${output})`,
    );
    expect(output).toMatch(/garage-1 ready/);
  });

  it('moves the simulated garage door on command', async () => {
    expect((await postCommand(server, 'garage-1.door', { command: 'open' })).status).toBe(202);
    await waitFor(
      async () => ((await device('garage-1'))?.entities.find((e) => e.key === 'door')?.state === 'open' ? true : undefined),
      10_000,
    );
  });

  it('says goodbye on Ctrl-C: the sensors go offline', async () => {
    simulate.kill('SIGINT');
    const code = await new Promise((resolve) => simulate.once('exit', resolve));
    expect(code).toBe(0);
    await waitFor(async () => ((await device('dht-1'))?.online === false ? true : undefined), 5000);
  });
});
