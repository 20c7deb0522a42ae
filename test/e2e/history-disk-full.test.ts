import fs from 'node:fs';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../support/commands';
import { dht11Payload, getJson, startServer, waitFor, type RunningServer } from '../support/server';

interface Health {
  status: 'ok' | 'degraded';
  history: { pendingRows: number; writtenRows: number; failure?: string };
}

let server: RunningServer | undefined;

afterAll(async () => {
  await server?.stop();
});

const READINGS = 4000;

async function storedPoints(s: RunningServer, entityId: string): Promise<number> {
  const { body } = await getJson<{ points: unknown[] }>(s.url(`/api/entities/${entityId}/history?from=0&limit=100000`));
  return body.points.length;
}

// RLIMIT_FSIZE makes every write past the limit fail with EFBIG, which SQLite reports
// as a full disk (SQLITE_FULL): a real full disk for this one process, no root needed.
describe('history writer on a full disk', () => {
  it('keeps readings in memory, reports degraded, and writes them all once space is back', async () => {
    server = await startServer({ env: { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' } });
    const pid = String(server.child.pid);
    const device = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { clientId: 'full-dht', reconnectPeriod: 0 });
    await device.publishAsync('tele/full-dht/SENSOR', dht11Payload(20, 50), { qos: 1 });
    await waitFor(async () => ((await getJson<Health>(server!.url('/api/health'))).body.history.writtenRows >= 2 ? true : undefined));

    const files = ['ninho.db', 'ninho.db-wal'].map((f) => path.join(server!.dataDir, f)).filter((f) => fs.existsSync(f));
    const largest = Math.max(...files.map((f) => fs.statSync(f).size));
    const limit = await run('prlimit', ['--pid', pid, `--fsize=${largest + 8192}:unlimited`]);
    expect(limit.code, limit.stderr).toBe(0);

    for (let i = 0; i < READINGS / 2; i++) device.publish('tele/full-dht/SENSOR', dht11Payload(20 + (i % 10), 50), { qos: 0 });
    const failing = await waitFor(
      async () => {
        const { body } = await getJson<Health>(server!.url('/api/health'));
        return body.status === 'degraded' ? body : undefined;
      },
      10_000,
      'the writer to report the full disk',
    );
    expect(failing.history.failure).toMatch(/full|EFBIG|too large|I\/O/i);
    expect(server.logs()).toMatch(/history flush of \d+ rows failed, keeping them to retry/);
    // Live state goes on while nothing can be stored.
    const { body: dht } = await getJson<{ online: boolean; entities: unknown[] }>(server.url('/api/devices/full-dht'));
    expect(dht.online).toBe(true);

    const lifted = await run('prlimit', ['--pid', pid, '--fsize=unlimited:unlimited']);
    expect(lifted.code, lifted.stderr).toBe(0);
    await waitFor(
      async () => {
        const { body } = await getJson<Health>(server!.url('/api/health'));
        return body.status === 'ok' && body.history.pendingRows === 0 ? true : undefined;
      },
      15_000,
      'the writer to recover',
    );
    expect(server.logs()).toMatch(/history writes recovered/);
    expect(await storedPoints(server, 'full-dht.temperature')).toBe(READINGS / 2 + 1);

    // And it is really on disk: nothing lost across a restart.
    await device.endAsync();
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    expect(await storedPoints(server, 'full-dht.temperature')).toBe(READINGS / 2 + 1);
    expect(await storedPoints(server, 'full-dht.humidity')).toBe(READINGS / 2 + 1);
  });
});
