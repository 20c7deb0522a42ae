import fs from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { coapRequest } from './coap';
import { getJson, startServer, tempDataDir, waitFor, type RunningServer } from './server';

export interface RunView {
  id: string;
  status: string;
  startedAt: number;
  finishedAt: number | null;
  trigger: { type: string; description: string; payload?: string; index: number };
  trace: {
    conditions: Array<{ path: string; passed: boolean; detail: string }>;
    actions: Array<{ path: string; type: string; result?: string; error?: string; finishedAt?: number }>;
    reason?: string;
  };
}

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/**
 * A server on a test clock (NINHO_TEST_CLOCK) with an MQTT client that records every message
 * on out/#: rules under test publish there, and minutes pass at a POST.
 */
export class RulesHarness {
  readonly received: Array<{ topic: string; payload: string }> = [];
  server!: RunningServer;
  client!: MqttClient;
  private clockAt: number | 'now' = 'now';
  private lastKnown = 0;

  private constructor(readonly dataDir: string) {}

  /** ruleFiles: file name → content, written to <data dir>/rules before the start. */
  static async start(options: { ninhoYaml?: string; ruleFiles?: Record<string, string> } = {}): Promise<RulesHarness> {
    const harness = new RulesHarness(tempDataDir());
    if (options.ninhoYaml) fs.writeFileSync(path.join(harness.dataDir, 'ninho.yaml'), options.ninhoYaml);
    fs.mkdirSync(path.join(harness.dataDir, 'rules'), { recursive: true });
    for (const [name, content] of Object.entries(options.ruleFiles ?? {}))
      fs.writeFileSync(path.join(harness.dataDir, 'rules', name), content);
    await harness.boot();
    return harness;
  }

  private async boot(): Promise<void> {
    this.server = await startServer({
      dataDir: this.dataDir,
      env: { NINHO_TEST_CLOCK: String(this.clockAt), NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' },
    });
    this.client = await connectAsync(`mqtt://127.0.0.1:${this.server.mqtt}`, { reconnectPeriod: 0 });
    this.client.on('message', (topic, payload) => this.received.push({ topic, payload: payload.toString() }));
    await this.client.subscribeAsync('out/#', { qos: 1 });
  }

  /**
   * Stops the server and starts it again on the same data and the same clock time; with
   * powerCut it is killed (SIGKILL) instead, with no chance to flush or close anything.
   */
  async restart({ powerCut = false }: { powerCut?: boolean } = {}): Promise<void> {
    this.clockAt = await this.now();
    await this.client.endAsync(true);
    await this.server.stop(powerCut ? 'SIGKILL' : 'SIGTERM');
    await this.boot();
  }

  /** Starts a stopped server with its clock at the given time (test time that passed while it was down). */
  async restartAt(clockAt: number): Promise<void> {
    this.clockAt = clockAt;
    await this.client.endAsync(true).catch(() => undefined);
    await this.boot();
  }

  /** The clock's time as last read from the running server. */
  async lastClock(): Promise<number> {
    if (this.server.child.exitCode === null) this.lastKnown = await this.now();
    return this.lastKnown;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true).catch(() => undefined);
    await this.server?.stop();
  }

  async send<T = Record<string, unknown>>(method: string, pathname: string, body?: unknown): Promise<ApiAnswer<T>> {
    const response = await fetch(this.server.url(pathname), {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
  }

  async createRule(rule: Record<string, unknown>): Promise<string> {
    const { status, body } = await this.send<{ id: string; message?: string }>('POST', '/api/rules', rule);
    if (status !== 201) throw new Error(`rule refused (${status}): ${body.message ?? ''}`);
    return body.id;
  }

  async runs(ruleId: string): Promise<RunView[]> {
    return (await getJson<RunView[]>(this.server.url(`/api/rules/${ruleId}/runs?limit=200`))).body;
  }

  /** Waits until the rule's run log satisfies the check; returns the runs, newest first. */
  async runsWhere(ruleId: string, check: (runs: RunView[]) => boolean, what = 'runs'): Promise<RunView[]> {
    return waitFor(
      async () => {
        const runs = await this.runs(ruleId);
        return check(runs) ? runs : undefined;
      },
      10_000,
      `${ruleId}: ${what}`,
    );
  }

  async now(): Promise<number> {
    this.lastKnown = (await getJson<{ now: number }>(this.server.url('/api/test/clock'))).body.now;
    return this.lastKnown;
  }

  async advance(ms: number): Promise<void> {
    const { status, body } = await this.send<{ now: number }>('POST', '/api/test/clock', { advanceMs: ms });
    if (status !== 200) throw new Error(`advancing the clock failed: ${status}`);
    this.lastKnown = body.now;
  }

  async publish(topic: string, payload: string, retain = false): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /** Reports states of a device over CoAP telemetry, which creates its entities as needed. */
  async report(deviceId: string, states: Record<string, string | number | boolean>): Promise<void> {
    const reply = await coapRequest(this.server.coap, 'POST', `/devices/${deviceId}`, {
      body: JSON.stringify(states),
      format: 'application/json',
    });
    if (!reply.code.startsWith('2.')) throw new Error(`telemetry refused: ${reply.code} ${reply.body}`);
    await waitFor(async () => {
      const { body } = await getJson<{ entities?: Array<{ key: string; state: unknown }> }>(this.server.url(`/api/devices/${deviceId}`));
      return Object.entries(states).every(([key, value]) => body.entities?.find((e) => e.key === key)?.state === value) ? true : undefined;
    });
  }

  messages(topic: string): string[] {
    return this.received.filter((m) => m.topic === topic).map((m) => m.payload);
  }
}
