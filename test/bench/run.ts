/**
 * `npm run bench`: starts the real built server and its peers (bare aedes, mosquitto
 * from apt) and measures them side by side in one run, with the load generator
 * (mqtt-load.ts) always in a process of its own. Progress goes to stderr and the
 * result tables, as Markdown, to stdout; test/bench/RESULTS.md records a run.
 *
 *   npm run bench               the full run (about 4 minutes on 2 cores)
 *   npm run bench -- --quick    smaller sizes, to check that the bench itself works
 *   npm run bench -- --only=ingest,history   some sections only (throughput, ingest, history, rules, idle)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { seedMinuteReadings } from '../support/history-seed';
import { REPO_ROOT, dht11Payload, getJson, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

const QUICK = process.argv.includes('--quick');
/** --only=throughput,ingest,history,idle runs just those sections. */
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (section: string): boolean => !ONLY || ONLY.includes(section);
// The load generator and the bare aedes peer run as plain compiled JavaScript (tsc -b test),
// exactly as the server does, so no TypeScript loader sits in any measured process.
const COMPILED = path.join(REPO_ROOT, 'node_modules', '.cache', 'ninho-test-tsc', 'test', 'bench');
const LOAD = path.join(COMPILED, 'mqtt-load.js');
const BARE_AEDES = path.join(COMPILED, 'bare-aedes.js');
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => fs.existsSync(p));
const MINUTE_MS = 60_000;
const YEAR_MINUTES = QUICK ? 60 * 24 * 7 : 365 * 24 * 60;

const sizes = QUICK
  ? { rounds: 1, messages: { 0: 5000, 1: 3000, 2: 2000, c: 10_000 }, ingest: 5000, idle: 100, queryRuns: 3 }
  : { rounds: 5, messages: { 0: 60_000, 1: 40_000, 2: 20_000, c: 150_000 }, ingest: 60_000, idle: 1000, queryRuns: 15 };

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

function percentile(sorted: Float64Array | number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A broker under test: where to connect and which process to measure. */
interface Broker {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Every process the bench starts, so that a failed run leaves none behind. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs a compiled script of this folder as its own Node process; resolves with its last stdout line. */
function runScript(file: string, args: string[], onLine?: (line: string, child: ChildProcess) => void): Promise<string> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stdout = '';
  let pending = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine?.(line, child);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 || signal === 'SIGTERM') resolve(last);
      else reject(new Error(`${path.basename(file)} ${args.join(' ')} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
}

async function load<T>(args: string[]): Promise<T> {
  return JSON.parse(await runScript(LOAD, args)) as T;
}

async function startNinho(dataDir?: string): Promise<Broker & { server: RunningServer }> {
  const server = await startServer(dataDir ? { dataDir } : {});
  track(server.child);
  return {
    name: 'ninho (embedded aedes, LevelDB persistence)',
    url: `mqtt://127.0.0.1:${server.mqtt}`,
    pid: server.child.pid ?? 0,
    server,
    stop: async () => {
      await server.stop();
    },
  };
}

async function startBareAedes(args: string[] = []): Promise<Broker> {
  let child: ChildProcess | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    runScript(BARE_AEDES, args, (line, c) => {
      child = c;
      const match = /^port=(\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    }).catch(reject);
  });
  if (!child) throw new Error('bare aedes did not start');
  const running = child;
  return {
    name: 'bare aedes 1.2 (in-memory persistence)',
    url: `mqtt://127.0.0.1:${port}`,
    pid: running.pid ?? 0,
    stop: () => stopChild(running),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function startMosquitto(): Promise<Broker | undefined> {
  if (!MOSQUITTO) return undefined;
  const port = await freePort();
  const dir = tempDataDir();
  const conf = path.join(dir, 'mosquitto.conf');
  // DESIGN.md: without max_queued_messages 0 mosquitto silently drops QoS 1/2 to a slow subscriber.
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      'max_queued_messages 0',
      'max_inflight_messages 0',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
    ].join('\n'),
  );
  const child = track(spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' }));
  await waitFor(
    () =>
      new Promise<true | undefined>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(undefined));
      }),
    10_000,
    'mosquitto to listen',
  );
  const version = /mosquitto version ([\d.]+)/.exec(await versionOf(MOSQUITTO))?.[1] ?? '';
  return { name: `mosquitto ${version} (apt, C)`, url: `mqtt://127.0.0.1:${port}`, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

function versionOf(binary: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-h'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.once('exit', () => resolve(text));
  });
}

// ---------------------------------------------------------------------------

interface ThroughputResult {
  received: number;
  duplicates: number;
  perSecond: number;
}

/** Messages per second for one broker, from one load run. */
type LoadRun = (broker: Broker) => Promise<number>;

function mqttJsLoad(qos: 0 | 1 | 2, messages: number): LoadRun {
  return async (broker) => {
    const result = await load<ThroughputResult>(['throughput', broker.url, String(qos), String(messages), '1000']);
    if (result.received !== messages || (qos === 2 && result.duplicates > 0))
      throw new Error(`${broker.name} QoS ${qos}: ${result.received}/${messages} delivered, ${result.duplicates} duplicates`);
    return result.perSecond;
  };
}

/** mosquitto_pub -l into mosquitto_sub -C: C clients load a broker harder than mqtt.js can at QoS 0 (DESIGN.md). */
function cClientsQos0(messages: number): LoadRun {
  const lines = path.join(tempDataDir(), 'messages.txt');
  fs.writeFileSync(lines, Array.from({ length: messages }, (_, i) => `${String(i).padStart(10, '0')}:${'x'.repeat(52)}`).join('\n') + '\n');
  return async (broker) => {
    const { port } = new URL(broker.url);
    const topic = `bench/c/${Date.now()}`;
    const sub = track(spawn('mosquitto_sub', ['-p', port, '-t', topic, '-C', String(messages)], { stdio: ['ignore', 'ignore', 'pipe'] }));
    const done = new Promise<number | null>((resolve) => sub.once('exit', (code) => resolve(code)));
    await sleep(500); // mosquitto_sub says nothing once subscribed
    const started = performance.now();
    const pub = track(
      spawn('mosquitto_pub', ['-p', port, '-t', topic, '-l', '-q', '0'], { stdio: [fs.openSync(lines, 'r'), 'ignore', 'pipe'] }),
    );
    const timeout = setTimeout(() => sub.kill('SIGTERM'), 60_000);
    const [code] = await Promise.all([done, new Promise((resolve) => pub.once('exit', resolve))]);
    clearTimeout(timeout);
    if (code !== 0) throw new Error(`${broker.name}: mosquitto_sub did not get all ${messages} messages`);
    return Math.round(messages / ((performance.now() - started) / 1000));
  };
}

async function brokerThroughput(brokers: Broker[]): Promise<string> {
  const cases: Array<{ label: string; run: LoadRun }> = [
    { label: 'QoS 0', run: mqttJsLoad(0, sizes.messages[0]) },
    { label: 'QoS 1', run: mqttJsLoad(1, sizes.messages[1]) },
    { label: 'QoS 2', run: mqttJsLoad(2, sizes.messages[2]) },
    ...(MOSQUITTO ? [{ label: 'QoS 0, C clients', run: cClientsQos0(sizes.messages.c) }] : []),
  ];
  const cell = (values: number[]): string =>
    values.length > 1 ? `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})` : fmt(median(values));
  const rows: string[][] = [];
  for (const { label, run } of cases) {
    const results = new Map<string, number[]>(brokers.map((b) => [b.name, []]));
    for (const broker of brokers) await run(broker); // warm-up
    for (let round = 0; round < sizes.rounds; round++) {
      // Rotate the order each round so that no broker always runs first on a cold machine.
      const order = brokers.map((_, i) => brokers[(i + round) % brokers.length] as Broker);
      for (const broker of order) {
        const perSecond = await run(broker);
        results.get(broker.name)?.push(perSecond);
        progress(`${label} ${broker.name}: ${fmt(perSecond)} msg/s`);
      }
    }
    const medianOf = (broker: Broker | undefined): number => median(results.get(broker?.name ?? '') ?? []);
    rows.push([
      label,
      ...brokers.map((b) => cell(results.get(b.name) ?? [])),
      `${fmt(medianOf(brokers[0]) / medianOf(brokers[1]), 2)}×`,
      brokers[2] ? `${fmt(medianOf(brokers[0]) / medianOf(brokers[2]), 2)}×` : 'n/a',
    ]);
  }
  return [
    `Delivered messages per second, 64-byte payloads, one publisher and one subscriber; median (and range) of ${sizes.rounds} rounds, brokers in rotating order. QoS 0–2: both clients in one mqtt.js load process, at most 1,000 messages in flight. "C clients": mosquitto_pub -l into mosquitto_sub, two processes, no flow control beyond TCP's.`,
    '',
    table(['', ...brokers.map((b) => b.name), 'ninho / aedes', 'ninho / mosquitto'], rows),
  ].join('\n');
}

// ---------------------------------------------------------------------------

async function ingest(): Promise<{ text: string; dataDir: string }> {
  const devices = 100;
  const ninho = await startNinho();
  const { server } = ninho;
  const warm = await mqtt.connectAsync(ninho.url, { clientId: 'bench-warm-up' });
  for (let i = 0; i < devices; i++) await warm.publishAsync(`tele/bench-${i}/SENSOR`, dht11Payload(20, 40), { qos: 1 });
  await warm.endAsync();
  await waitFor(async () => {
    const { body } = await getJson<unknown[]>(server.url('/api/devices'));
    return body.length >= devices ? true : undefined;
  }, 20_000);

  const db = new Database(path.join(server.dataDir, 'ninho.db'), { readonly: true });
  const maxId = db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM "Reading"');
  await waitFor(() => ((maxId.get()?.id ?? 0) >= devices * 2 ? true : undefined), 10_000, 'warm-up rows');
  const base = maxId.get()?.id ?? 0;
  const readings = sizes.ingest * 2;
  const timesFile = path.join(server.dataDir, 'publish-times.bin');

  // The poller records when each stored-row count was first seen; rows are written in arrival order.
  const seen: Array<{ at: number; rows: number }> = [];
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const rows = (maxId.get()?.id ?? 0) - base;
      if (rows !== seen.at(-1)?.rows) seen.push({ at: performance.timeOrigin + performance.now(), rows });
      if (rows >= readings) return;
      await sleep(2);
    }
  })();
  const rssBefore = rssKiB(ninho.pid);
  let rssPeak = rssBefore;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rssKiB(ninho.pid))), 100);
  progress(`ingest: ${fmt(sizes.ingest)} DHT11 messages from ${devices} devices (${fmt(readings)} readings)`);
  await load(['ingest', ninho.url, String(devices), String(sizes.ingest), '500', timesFile]);
  await Promise.race([poll, sleep(60_000)]);
  polling = false;
  clearInterval(rssTimer);
  db.close();

  const publishedAt = new Float64Array(fs.readFileSync(timesFile).buffer.slice(0));
  const latencies = new Float64Array(sizes.ingest);
  let cursor = 0;
  for (let i = 0; i < sizes.ingest; i++) {
    while (cursor < seen.length && (seen[cursor]?.rows ?? 0) < 2 * (i + 1)) cursor++;
    latencies[i] = (seen[cursor]?.at ?? Number.NaN) - (publishedAt[i] ?? Number.NaN);
  }
  const stored = seen.at(-1)?.rows ?? 0;
  const seconds = ((seen.at(-1)?.at ?? 0) - (publishedAt[0] ?? 0)) / 1000;
  latencies.sort();
  await ninho.stop();
  if (stored < readings) throw new Error(`ingest: only ${stored} of ${readings} readings were stored within 60 s`);
  const perSecond = readings / seconds;
  progress(`ingest: ${fmt(perSecond)} readings/s, p50 ${fmt(percentile(latencies, 50))} ms`);
  const text = [
    `${fmt(sizes.ingest)} Tasmota DHT11 messages at QoS 1 (at most 500 unacknowledged) from ${devices} devices, i.e. ${fmt(readings)} readings, each message parsed by the esp8266-dht11 plugin and stored by the history writer. Latency runs from publish to the row being visible to another SQLite connection (polled every 2 ms).`,
    '',
    table(
      ['readings/s', 'messages/s', 'p50 latency', 'p99 latency', 'max latency', 'server RSS before → peak'],
      [
        [
          fmt(perSecond),
          fmt(perSecond / 2),
          `${fmt(percentile(latencies, 50))} ms`,
          `${fmt(percentile(latencies, 99))} ms`,
          `${fmt(latencies[latencies.length - 1] ?? Number.NaN)} ms`,
          `${fmt(rssBefore / 1024)} → ${fmt(rssPeak / 1024)} MiB`,
        ],
      ],
    ),
  ].join('\n');
  return { text, dataDir: server.dataDir };
}

// ---------------------------------------------------------------------------

interface TableBytes {
  name: string;
  bytes: number;
}

/** Bytes on disk of the history tables and their indexes, from SQLite's dbstat. */
function historyBytes(file: string): { reading: number; rollup: number; rows: number; file: number } {
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const tables = db.prepare<[], TableBytes>(`SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name`).all();
  const bytesOf = (prefix: string): number =>
    tables
      .filter((t) => t.name === prefix || t.name.startsWith(`${prefix}_`) || t.name.startsWith(`sqlite_autoindex_${prefix}`))
      .reduce((s, t) => s + t.bytes, 0);
  const rows = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM "Reading"').get()?.n ?? 0;
  db.close();
  return { reading: bytesOf('Reading'), rollup: bytesOf('HourlyRollup'), rows, file: fs.statSync(file).size };
}

async function seedYear(): Promise<{ dataDir: string; entityId: string; end: number }> {
  const dataDir = tempDataDir();
  const ninho = await startNinho(dataDir);
  const client = await mqtt.connectAsync(ninho.url, { clientId: 'bench-seed' });
  await client.publishAsync('tele/year-dht/SENSOR', dht11Payload(20, 40), { qos: 1 });
  await client.endAsync();
  await waitFor(async () => ((await getJson(ninho.server.url('/api/devices/year-dht'))).status === 200 ? true : undefined));
  await ninho.stop();

  const end = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  seedMinuteReadings(dataDir, 'year-dht.temperature', YEAR_MINUTES, end);
  return { dataDir, entityId: 'year-dht.temperature', end };
}

async function timeQuery(url: string, runs: number): Promise<{ median: number; p90: number; points: number; bytes: number }> {
  const times: number[] = [];
  let points = 0;
  let bytes = 0;
  for (let i = 0; i <= runs; i++) {
    const started = performance.now();
    const response = await fetch(url);
    const text = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status} ${text}`);
    if (i === 0) continue; // warm-up
    times.push(elapsed);
    points = (JSON.parse(text) as { points: unknown[] }).points.length;
    bytes = text.length;
  }
  times.sort((a, b) => a - b);
  return { median: median(times), p90: percentile(times, 90), points, bytes };
}

function timeSql(file: string, sql: string, params: unknown[], runs: number): number {
  const db = new Database(file, { readonly: true });
  const statement = db.prepare(sql);
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const started = performance.now();
    statement.all(...params);
    if (i > 0) times.push(performance.now() - started);
  }
  db.close();
  return median(times);
}

async function historyQueries(): Promise<{ text: string; bytes: string }> {
  progress(`history: seeding ${fmt(YEAR_MINUTES)} one-minute readings`);
  const { dataDir, entityId, end } = await seedYear();
  const file = path.join(dataDir, 'ninho.db');
  const seeded = historyBytes(file);
  const ninho = await startNinho(dataDir);
  const from = end - YEAR_MINUTES * MINUTE_MS;
  const base = ninho.server.url(`/api/entities/${entityId}/history`);
  const ref = new Database(file, { readonly: true })
    .prepare<[], { ref: number }>(`SELECT ref FROM "Entity" WHERE id = '${entityId}'`)
    .get()?.ref;
  const cases: Array<{ name: string; query: string; sql: string; params: unknown[] }> = [
    {
      name: 'raw, last 24 h',
      query: `from=${end - 86_400_000}&to=${end}`,
      sql: 'SELECT ts, value, text FROM "Reading" WHERE "entityRef" = ? AND ts >= ? AND ts < ? ORDER BY ts, id LIMIT 10001',
      params: [ref, end - 86_400_000, end],
    },
    {
      name: `raw, whole range (${fmt(YEAR_MINUTES)} points)`,
      query: `from=${from}&to=${end}&limit=1000000`,
      sql: 'SELECT ts, value, text FROM "Reading" WHERE "entityRef" = ? AND ts >= ? AND ts < ? ORDER BY ts, id LIMIT 1000001',
      params: [ref, from, end],
    },
    {
      name: 'hourly buckets, whole range',
      query: `from=${from}&to=${end}&bucket=1h`,
      sql: 'SELECT hour, min, max, sum, count FROM "HourlyRollup" WHERE "entityRef" = ? AND hour >= ? AND hour < ? ORDER BY hour',
      params: [ref, from, end],
    },
    {
      name: 'hourly buckets from raw rows, whole range',
      query: '',
      sql: 'SELECT ts - ts % 3600000 AS t, min(value), max(value), sum(value), count(value) FROM "Reading" WHERE "entityRef" = ? AND ts >= ? AND ts < ? GROUP BY t ORDER BY t',
      params: [ref, from, end],
    },
    {
      name: 'daily buckets, whole range',
      query: `from=${from}&to=${end}&bucket=1d`,
      sql: 'SELECT hour - hour % 86400000 AS t, min(min), max(max), sum(sum), sum(count) FROM "HourlyRollup" WHERE "entityRef" = ? AND hour >= ? AND hour < ? GROUP BY t ORDER BY t',
      params: [ref, from, end],
    },
  ];
  // All HTTP timings first: a long SQL timing in between would let the server close the
  // idle keep-alive connection (5 s) just as fetch reuses it.
  const http = new Map<string, Awaited<ReturnType<typeof timeQuery>>>();
  for (const c of cases) {
    if (c.query === '') continue;
    const timing = await timeQuery(`${base}?${c.query}`, sizes.queryRuns);
    http.set(c.name, timing);
    progress(`history ${c.name}: ${fmt(timing.median, 1)} ms over HTTP`);
  }
  const rows = cases.map((c) => {
    const sqlMs = timeSql(file, c.sql, c.params, sizes.queryRuns);
    const timing = http.get(c.name);
    if (!timing) return [c.name, 'not served (the API reads rollups)', '', '', `${fmt(sqlMs, 1)} ms`];
    return [c.name, fmt(timing.points), `${fmt(timing.median, 1)} ms`, `${fmt(timing.p90, 1)} ms`, `${fmt(sqlMs, 1)} ms`];
  });
  await ninho.stop();
  const text = [
    `One entity holding ${fmt(YEAR_MINUTES)} one-minute readings. HTTP is GET /api/entities/:id/history on the running server, including JSON encoding; the peer column is the bare SQL through better-sqlite3 in the bench process. Median and p90 of ${sizes.queryRuns} runs after one warm-up.`,
    '',
    table(['query', 'points', 'HTTP median', 'HTTP p90', 'bare SQLite median'], rows),
  ].join('\n');
  const bytes = table(
    ['database', 'readings', 'Reading table + index', 'per reading', 'hourly rollups per reading', 'whole file per reading'],
    [
      [
        `seeded year (one entity, in time order)`,
        fmt(seeded.rows),
        `${fmt(seeded.reading / 1024 / 1024, 1)} MiB`,
        `${fmt(seeded.reading / seeded.rows, 1)} B`,
        `${fmt(seeded.rollup / seeded.rows, 1)} B`,
        `${fmt(seeded.file / seeded.rows, 1)} B`,
      ],
    ],
  );
  return { text, bytes };
}

function bytesRow(label: string, dataDir: string): string[] {
  const measured = historyBytes(path.join(dataDir, 'ninho.db'));
  return [
    label,
    fmt(measured.rows),
    `${fmt(measured.reading / 1024 / 1024, 1)} MiB`,
    `${fmt(measured.reading / measured.rows, 1)} B`,
    `${fmt(measured.rollup / measured.rows, 1)} B`,
    `${fmt(measured.file / measured.rows, 1)} B`,
  ];
}

// ---------------------------------------------------------------------------

interface RulesLoad {
  events: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

const RULES = 1000;

/** 1,000 rules, each on its own topic, with a condition, answering with a publish. */
async function loadRules(server: RunningServer): Promise<void> {
  for (let i = 0; i < RULES; i++) {
    const response = await fetch(server.url('/api/rules'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: `bench-${i}`,
        name: `Bench ${i}`,
        mode: 'parallel',
        max: 1000,
        triggers: [{ type: 'mqtt', topic: `bench/in/${i}` }],
        conditions: [{ type: 'not', condition: { type: 'state', entity: 'bench.nothing', state: 'x' } }],
        actions: [{ type: 'publish', topic: `bench/out/${i}`, payload: 'x' }],
      }),
    });
    if (response.status !== 201) throw new Error(`rules bench: rule ${i} refused: ${await response.text()}`);
  }
}

async function rulesBench(): Promise<string> {
  const floodEvents = QUICK ? 5000 : 30_000;
  const pacedSeconds = QUICK ? 3 : 15;
  const results: Array<{ name: string; flood: RulesLoad; paced: RulesLoad }> = [];
  const targets: Array<[string, () => Promise<Broker>]> = [
    [
      `ninho, ${fmt(RULES)} rules (MQTT trigger, a condition, a publish action)`,
      async () => {
        const ninho = await startNinho();
        progress(`rules: loading ${fmt(RULES)} rules`);
        await loadRules(ninho.server);
        return ninho;
      },
    ],
    ['bare aedes relaying in-process (no rules engine: the floor)', () => startBareAedes(['--relay'])],
  ];
  for (const [name, start] of targets) {
    const broker = await start();
    try {
      progress(`rules: ${name}: flood of ${fmt(floodEvents)} events`);
      const flood = await load<RulesLoad>(['rules', broker.url, String(RULES), '0', String(floodEvents)]);
      progress(`rules: ${name}: 1,000 events/s for ${pacedSeconds} s`);
      const paced = await load<RulesLoad>(['rules', broker.url, String(RULES), '1000', String(pacedSeconds)]);
      results.push({ name, flood, paced });
    } finally {
      await broker.stop();
    }
  }
  const ms = (n: number): string => `${fmt(n, 2)} ms`;
  return [
    `From an MQTT message on bench/in/<i> to the rule's publish on bench/out/<i> arriving at an MQTT client, on loopback, with the load generator in its own process. Flood: ${fmt(floodEvents)} events with at most 500 unanswered. Paced: 1,000 events a second for ${pacedSeconds} s, spread over the ${fmt(RULES)} rules. Target: p99 < 20 ms at 1,000 events/s.`,
    '',
    table(
      ['', 'rules run per second (flood)', 'p50 at 1,000/s', 'p99 at 1,000/s', 'max at 1,000/s'],
      results.map(({ name, flood, paced }) => [name, fmt(flood.perSecond), ms(paced.p50), ms(paced.p99), ms(paced.max)]),
    ),
  ].join('\n');
}

async function idleClients(start: Array<() => Promise<Broker | undefined>>): Promise<string> {
  const rows: string[][] = [];
  for (const make of start) {
    const broker = await make();
    if (!broker) continue;
    await sleep(1000);
    const before = rssKiB(broker.pid);
    let holder: ChildProcess | undefined;
    const up = new Promise<void>((resolve, reject) => {
      runScript(LOAD, ['idle', broker.url, String(sizes.idle)], (line, child) => {
        holder = child;
        if (line.startsWith('{')) resolve();
      }).catch(reject);
    });
    await up;
    await sleep(2000);
    const after = rssKiB(broker.pid);
    if (holder) await stopChild(holder);
    await broker.stop();
    progress(`idle: ${broker.name} ${fmt(before / 1024)} → ${fmt(after / 1024)} MiB`);
    rows.push([broker.name, `${fmt(before / 1024, 1)} MiB`, `${fmt(after / 1024, 1)} MiB`, `${fmt((after - before) / sizes.idle, 1)} KiB`]);
  }
  return [
    `Resident memory of the broker process before and 2 s after ${fmt(sizes.idle)} idle MQTT clients connected (keepalive 300 s, one load process).`,
    '',
    table(['broker', 'RSS idle', `RSS with ${fmt(sizes.idle)} clients`, 'per client'], rows),
  ].join('\n');
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(REPO_ROOT, 'server', 'dist', 'main.js'))) throw new Error('server/dist is missing: run `npm run build`');
  if (!fs.existsSync(LOAD)) throw new Error(`${LOAD} is missing: run \`npx tsc -b test\``);
  const started = Date.now();
  const sections: string[] = [];
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;

  if (runs('throughput')) {
    progress('broker throughput');
    const brokers = [await startNinho(), await startBareAedes(), await startMosquitto()].filter((b): b is Broker => b !== undefined);
    if (brokers.length < 3) progress('mosquitto is not installed (apt-get install mosquitto): its column is left out');
    try {
      sections.push(`## Broker throughput\n\n${await brokerThroughput(brokers)}`);
    } finally {
      for (const broker of brokers) await broker.stop();
    }
  }

  const ingested = runs('ingest') ? await ingest() : undefined;
  if (ingested) sections.push(`## End-to-end ingest\n\n${ingested.text}`);

  if (runs('history')) {
    const history = await historyQueries();
    sections.push(`## History queries\n\n${history.text}`);
    sections.push(
      [
        '## Bytes per reading',
        '',
        'SQLite pages (dbstat) of the Reading table and its (entityRef, ts) index, divided by the number of readings, after a WAL checkpoint.',
        '',
        history.bytes,
        ...(ingested
          ? [
              `| ${bytesRow('after the ingest run (100 devices interleaved, written by the history writer)', ingested.dataDir).join(' | ')} |`,
            ]
          : []),
      ].join('\n'),
    );
  }

  if (runs('rules')) sections.push(`## Rules\n\n${await rulesBench()}`);

  if (runs('idle')) sections.push(`## Idle clients\n\n${await idleClients([startNinho, startBareAedes, startMosquitto])}`);

  process.stdout.write(
    [
      `# ninho bench${QUICK ? ' (--quick)' : ''}`,
      '',
      `${new Date().toISOString()} · ${machine} · ${fmt((Date.now() - started) / 1000)} s`,
      '',
      sections.join('\n\n'),
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
