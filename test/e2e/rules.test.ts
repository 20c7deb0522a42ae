import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coapRequest } from '../support/coap';
import { RulesHarness } from '../support/rules';
import { dht11Payload, waitFor } from '../support/server';

const MINUTE = 60_000;
let home: RulesHarness;

beforeAll(async () => {
  // Lisbon, for the sun trigger.
  home = await RulesHarness.start({ ninhoYaml: 'location:\n  latitude: 38.72\n  longitude: -9.14\n' });
});

afterAll(async () => {
  await home?.stop();
});

const publishOut = (name: string, payload = 'fired'): Record<string, unknown> => ({ type: 'publish', topic: `out/${name}`, payload });

describe('rules: validation and the API', () => {
  it('refuses a bad rule with every error and its path, leaving the running rules alone', async () => {
    const id = await home.createRule({
      name: 'Untouched',
      triggers: [{ type: 'mqtt', topic: 'in/untouched' }],
      actions: [publishOut('untouched')],
    });
    const bad = await home.send<{ errors: Array<{ path: string }> }>('POST', '/api/rules', {
      name: 'Bad',
      mode: 'often',
      triggers: [{ type: 'state', entity: 'nodot', for: 'a while' }],
      conditions: [{ type: 'or', conditions: [{ type: 'time', before: '24:00' }] }],
      actions: [{ type: 'choose', choices: [{ condition: { type: 'numeric', entity: 'a.b' }, actions: [] }] }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e) => e.path)).toEqual([
      'mode',
      'triggers.0.entity',
      'triggers.0.for',
      'conditions.0.conditions.0.before',
      'actions.0.choices.0.condition',
      'actions.0.choices.0.actions',
    ]);
    const badReplace = await home.send('PUT', `/api/rules/${id}`, { name: 'Untouched', triggers: [], actions: [publishOut('x')] });
    expect(badReplace.status).toBe(400);
    const yaml = await home.send<{ errors: Array<{ path: string; message: string }> }>('POST', '/api/rules', { yaml: 'name: [unclosed' });
    expect(yaml.status).toBe(400);
    expect(yaml.body.errors[0]?.path).toBe('yaml');

    await home.publish('in/untouched', 'x');
    await waitFor(() => (home.messages('out/untouched').length === 1 ? true : undefined));
  });

  it('creates from YAML, lists, replaces, disables, enables and deletes a rule', async () => {
    const created = await home.send<{ id: string }>('POST', '/api/rules', {
      yaml: 'name: Crud rule\ntriggers:\n  - type: mqtt\n    topic: in/crud\nactions:\n  - type: publish\n    topic: out/crud\n    payload: one\n',
    });
    expect(created).toMatchObject({ status: 201, body: { id: 'crud-rule', enabled: true, source: 'api' } });
    expect((await home.send<Array<{ id: string }>>('GET', '/api/rules')).body.map((r) => r.id)).toContain('crud-rule');
    const again = await home.send<{ id: string }>('POST', '/api/rules', {
      name: 'Crud rule',
      triggers: [{ type: 'mqtt', topic: 'x' }],
      actions: [publishOut('x')],
    });
    expect(again.body.id).toBe('crud-rule-2');
    expect(
      (
        await home.send('POST', '/api/rules', {
          id: 'crud-rule',
          name: 'x',
          triggers: [{ type: 'mqtt', topic: 'x' }],
          actions: [publishOut('x')],
        })
      ).status,
    ).toBe(409);

    await home.send('PUT', '/api/rules/crud-rule', {
      name: 'Crud rule',
      triggers: [{ type: 'mqtt', topic: 'in/crud' }],
      actions: [publishOut('crud', 'two')],
    });
    await home.publish('in/crud', '');
    await waitFor(() => (home.messages('out/crud').includes('two') ? true : undefined));

    expect((await home.send('PATCH', '/api/rules/crud-rule', { enabled: false })).body).toMatchObject({ enabled: false });
    await home.publish('in/crud', '');
    await new Promise((r) => setTimeout(r, 200));
    expect(home.messages('out/crud')).toEqual(['two']);
    await home.send('PATCH', '/api/rules/crud-rule', { enabled: true });
    await home.publish('in/crud', '');
    await waitFor(() => (home.messages('out/crud').length === 2 ? true : undefined));

    expect((await home.send('DELETE', '/api/rules/crud-rule')).status).toBe(204);
    expect((await home.send('GET', '/api/rules/crud-rule')).status).toBe(404);
    expect((await home.send('DELETE', '/api/rules/crud-rule')).status).toBe(404);
  });

  it('runs a rule now, without its trigger and conditions', async () => {
    const id = await home.createRule({
      name: 'Manual',
      triggers: [{ type: 'mqtt', topic: 'in/never' }],
      conditions: [{ type: 'state', entity: 'nowhere.thing', state: 'impossible' }],
      actions: [publishOut('manual')],
    });
    expect((await home.send('POST', `/api/rules/${id}/run`)).status).toBe(202);
    const [run] = await home.runsWhere(id, (runs) => runs[0]?.status === 'done');
    expect(run?.trigger).toMatchObject({ type: 'manual', index: -1 });
  });
});

describe('rules: each trigger type', () => {
  it('fires on a state change, with to and from, and records the conditions it checked', async () => {
    const id = await home.createRule({
      name: 'Car arrives',
      triggers: [{ type: 'state', entity: 'spot-1.car', from: false, to: true }],
      conditions: [{ type: 'state', entity: 'spot-1.gate', state: 'closed' }],
      actions: [publishOut('car')],
    });
    await home.report('spot-1', { car: false, gate: 'closed' });
    await home.report('spot-1', { car: true });
    const [run] = await home.runsWhere(id, (runs) => runs[0]?.status === 'done');
    expect(run?.trigger).toMatchObject({ type: 'state', description: 'spot-1.car changed from false to true' });
    expect(run?.trace.conditions).toEqual([{ path: 'conditions.0', type: 'state', passed: true, detail: 'spot-1.gate is "closed"' }]);
    expect(home.messages('out/car')).toEqual(['fired']);

    // Conditions not met: the run is logged as such and nothing is published.
    await home.report('spot-1', { car: false, gate: 'open' });
    await home.report('spot-1', { car: true });
    const runs = await home.runsWhere(id, (r) => r.length === 2);
    expect(runs[0]).toMatchObject({ status: 'not-met', trace: { conditions: [{ passed: false, detail: 'spot-1.gate is "open"' }] } });
    expect(home.messages('out/car')).toEqual(['fired']);
  });

  it('fires a numeric threshold once per crossing, with hysteresis', async () => {
    const id = await home.createRule({
      name: 'Hot',
      triggers: [{ type: 'numeric', entity: 'hot-dht.temperature', above: 25, hysteresis: 1 }],
      actions: [publishOut('hot')],
    });
    for (const t of [24, 26, 27, 24.5, 26, 23.9, 26.5]) await home.publish('tele/hot-dht/SENSOR', dht11Payload(t, 40));
    await waitFor(() => (home.messages('out/hot').length === 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    // 26 fires; 27 and the dip to 24.5 (inside the hysteresis) do not re-arm it; 23.9 does, so 26.5 fires.
    expect(home.messages('out/hot')).toHaveLength(2);
    const runs = await home.runs(id);
    expect(runs.map((r) => r.trigger.description)).toEqual([
      'hot-dht.temperature is 26.5, above 25',
      'hot-dht.temperature is 26, above 25',
    ]);
  });

  it('fires on an MQTT message matching a filter, with its payload in the log', async () => {
    const id = await home.createRule({
      name: 'Doorbell',
      triggers: [{ type: 'mqtt', topic: 'in/+/bell', payload: 'ring' }],
      actions: [publishOut('bell')],
    });
    await home.publish('in/front/bell', 'ignored');
    await home.publish('in/front/bell', 'ring');
    const [run] = await home.runsWhere(id, (runs) => runs.length === 1);
    expect(run?.trigger).toMatchObject({ type: 'mqtt', payload: 'ring', description: 'MQTT message on in/front/bell' });
  });

  it('does not fire for a retained message that was there before the rule', async () => {
    await home.publish('in/retained', 'old', true);
    // Let the broker finish delivering it before the rule subscribes.
    await new Promise((r) => setTimeout(r, 200));
    const id = await home.createRule({
      name: 'Retained',
      triggers: [{ type: 'mqtt', topic: 'in/retained' }],
      actions: [publishOut('retained')],
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(await home.runs(id)).toEqual([]);
    await home.publish('in/retained', '', true);
  });

  it('fires on a CoAP request to /hooks/<path>', async () => {
    const id = await home.createRule({
      name: 'Coap hook',
      triggers: [{ type: 'coap', path: 'garden/pump', method: 'POST' }],
      actions: [publishOut('pump')],
    });
    const reply = await coapRequest(home.server.coap, 'POST', '/hooks/garden/pump', { body: 'on' });
    expect(reply.code).toBe('2.04');
    const [run] = await home.runsWhere(id, (runs) => runs.length === 1);
    expect(run?.trigger).toMatchObject({ type: 'coap', payload: 'on' });
  });

  it('fires when a device goes offline and comes back online', async () => {
    const id = await home.createRule({
      name: 'Availability',
      triggers: [
        { type: 'device', device: 'lwt-dht', to: 'offline' },
        { type: 'device', device: 'lwt-dht', to: 'online' },
      ],
      actions: [publishOut('availability')],
    });
    await home.publish('tele/lwt-dht/SENSOR', dht11Payload(20, 40));
    await home.publish('tele/lwt-dht/LWT', 'Online');
    await home.publish('tele/lwt-dht/LWT', 'Offline');
    await home.publish('tele/lwt-dht/LWT', 'Online');
    // The first reading brings it online, then the last will takes it offline and back.
    const runs = await home.runsWhere(id, (r) => r.length === 3);
    expect(runs.map((r) => r.trigger.description)).toEqual(['lwt-dht went online', 'lwt-dht went offline', 'lwt-dht went online']);
  });

  it('fires at a time of day and on a cron schedule, on the test clock', async () => {
    const now = new Date(await home.now());
    const inTwoMinutes = new Date(now.getTime() + 2 * MINUTE);
    const at = `${String(inTwoMinutes.getHours()).padStart(2, '0')}:${String(inTwoMinutes.getMinutes()).padStart(2, '0')}`;
    const time = await home.createRule({ name: 'At a time', triggers: [{ type: 'time', at }], actions: [publishOut('time')] });
    const cron = await home.createRule({
      name: 'Every ten minutes',
      triggers: [{ type: 'cron', expression: '*/10 * * * *' }],
      actions: [publishOut('cron')],
    });
    const start = await home.now();
    await home.advance(3 * MINUTE);
    await home.runsWhere(time, (runs) => runs.length === 1, 'the time trigger');
    await home.advance(30 * MINUTE);
    // Three or four ten-minute marks fall in 33 minutes, depending on where the clock started.
    const marks = Math.floor((start + 33 * MINUTE) / (10 * MINUTE)) - Math.floor(start / (10 * MINUTE));
    const cronRuns = await home.runsWhere(cron, (runs) => runs.length === marks, `${marks} cron runs in 33 minutes`);
    expect(cronRuns.every((r) => new Date(r.startedAt).getMinutes() % 10 === 0)).toBe(true);
    expect(await home.runs(time)).toHaveLength(1);
    await home.send('PATCH', `/api/rules/${cron}`, { enabled: false });
  });

  it('fires at sunset at the configured location', async () => {
    const id = await home.createRule({
      name: 'Sunset',
      triggers: [{ type: 'sun', event: 'sunset', offset: '-15m' }],
      actions: [publishOut('sunset')],
    });
    await home.advance(25 * 60 * MINUTE);
    const [run] = await home.runsWhere(id, (runs) => runs.length >= 1, 'a sunset');
    // Lisbon in late November: sunset between 17:00 and 17:30 UTC, so 15 minutes before it.
    const fired = new Date(run?.startedAt ?? 0);
    expect(fired.getUTCHours() * 60 + fired.getUTCMinutes()).toBeGreaterThanOrEqual(16 * 60 + 40);
    expect(fired.getUTCHours() * 60 + fired.getUTCMinutes()).toBeLessThanOrEqual(17 * 60 + 20);
  });
});

describe('rules: for: windows and delays', () => {
  it('fires a for: only once the state has held that long, and not when it is interrupted', async () => {
    const id = await home.createRule({
      name: 'Door left open',
      triggers: [{ type: 'state', entity: 'porch.door', to: 'open', for: '5m' }],
      actions: [publishOut('left-open')],
    });
    await home.report('porch', { door: 'closed' });
    await home.report('porch', { door: 'open' });
    await home.advance(4 * MINUTE);
    await home.report('porch', { door: 'closed' });
    await home.advance(10 * MINUTE);
    expect(await home.runs(id)).toEqual([]);

    await home.report('porch', { door: 'open' });
    await home.advance(4 * MINUTE);
    expect(await home.runs(id)).toEqual([]);
    await home.advance(MINUTE + 1000);
    const [run] = await home.runsWhere(id, (runs) => runs.length === 1);
    expect(run?.trigger.description).toMatch(/porch.door changed from "closed" to "open", for 300000 ms/);
    await home.advance(30 * MINUTE);
    expect(await home.runs(id)).toHaveLength(1);
  });

  it('runs if and choose branches and records which one it took', async () => {
    const id = await home.createRule({
      name: 'Branches',
      triggers: [{ type: 'mqtt', topic: 'in/branch' }],
      actions: [
        {
          type: 'if',
          condition: { type: 'numeric', entity: 'branch-dht.temperature', above: 20 },
          then: [publishOut('branch', 'warm')],
          else: [publishOut('branch', 'cold')],
        },
        {
          type: 'choose',
          choices: [
            { condition: { type: 'numeric', entity: 'branch-dht.humidity', above: 70 }, actions: [publishOut('branch', 'humid')] },
            { condition: { type: 'numeric', entity: 'branch-dht.humidity', below: 30 }, actions: [publishOut('branch', 'dry')] },
          ],
          default: [publishOut('branch', 'comfortable')],
        },
      ],
    });
    await home.publish('tele/branch-dht/SENSOR', dht11Payload(25, 20));
    await waitFor(async () =>
      (await home.send<{ entities?: unknown[] }>('GET', '/api/devices/branch-dht')).body.entities?.length === 2 ? true : undefined,
    );
    await home.publish('in/branch', '');
    const [run] = await home.runsWhere(id, (runs) => runs[0]?.status === 'done');
    expect(home.messages('out/branch')).toEqual(['warm', 'dry']);
    expect(run?.trace.actions.map((a) => `${a.path} ${a.type} ${a.result ?? ''}`)).toEqual([
      '0 if then',
      '0.then.0 publish published 4 bytes to out/branch',
      '1 choose choice 1',
      '1.choice-1.0 publish published 3 bytes to out/branch',
    ]);
  });

  it('waits for a trigger, and goes on or stops when the wait times out', async () => {
    const id = await home.createRule({
      name: 'Wait for it',
      mode: 'parallel',
      triggers: [{ type: 'mqtt', topic: 'in/wait' }],
      actions: [{ type: 'wait', trigger: { type: 'mqtt', topic: 'in/wait-ack' }, timeout: '1m' }, publishOut('wait', 'acknowledged')],
    });
    await home.publish('in/wait', '');
    await home.runsWhere(id, (runs) => runs[0]?.status === 'waiting');
    await home.publish('in/wait-ack', '');
    await home.runsWhere(id, (runs) => runs[0]?.status === 'done');
    expect(home.messages('out/wait')).toEqual(['acknowledged']);

    await home.publish('in/wait', '');
    await home.runsWhere(id, (runs) => runs.length === 2 && runs[0]?.status === 'waiting');
    await home.advance(2 * MINUTE);
    const [run] = await home.runsWhere(id, (runs) => runs[0]?.status === 'done');
    expect(run?.trace.reason).toBe('the wait at 0 timed out');
    expect(home.messages('out/wait')).toEqual(['acknowledged']);
  });

  it('records a failing action with its error and stops the run there', async () => {
    const id = await home.createRule({
      name: 'Failing',
      triggers: [{ type: 'mqtt', topic: 'in/fail' }],
      actions: [{ type: 'command', entity: 'nowhere.switch', command: 'ON' }, publishOut('never')],
    });
    await home.publish('in/fail', '');
    const [run] = await home.runsWhere(id, (runs) => runs[0]?.status === 'failed');
    expect(run?.trace.actions).toEqual([expect.objectContaining({ path: '0', type: 'command', error: 'no entity "nowhere.switch"' })]);
    expect(home.messages('out/never')).toEqual([]);
  });

  it('calls a webhook and logs its answer', async () => {
    const { createServer } = await import('node:http');
    const bodies: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.statusCode = req.url === '/broken' ? 500 : 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const port = (hook.address() as { port: number }).port;
    const id = await home.createRule({
      name: 'Webhook',
      triggers: [{ type: 'mqtt', topic: 'in/hook/+' }],
      actions: [{ type: 'webhook', url: `http://127.0.0.1:${port}/notify`, body: { event: 'doorbell' } }],
    });
    await home.publish('in/hook/a', '');
    const [ok] = await home.runsWhere(id, (runs) => runs[0]?.status === 'done');
    expect(ok?.trace.actions[0]?.result).toBe(`POST http://127.0.0.1:${port}/notify answered 200`);
    expect(bodies).toEqual(['{"event":"doorbell"}']);
    await home.send('PUT', `/api/rules/${id}`, {
      name: 'Webhook',
      triggers: [{ type: 'mqtt', topic: 'in/hook/+' }],
      actions: [{ type: 'webhook', url: `http://127.0.0.1:${port}/broken` }],
    });
    await home.publish('in/hook/b', '');
    const [broken] = await home.runsWhere(id, (runs) => runs[0]?.status === 'failed');
    expect(broken?.trace.actions[0]?.error).toBe(`POST http://127.0.0.1:${port}/broken answered 500`);
    hook.close();
  });
});

describe('rules: durability across restarts', () => {
  it('keeps a for: window across a restart and fires it once, when due', async () => {
    const id = await home.createRule({
      name: 'Garage left open',
      triggers: [{ type: 'state', entity: 'garage-x.door', to: 'open', for: '10m' }],
      actions: [publishOut('garage-left-open')],
    });
    await home.report('garage-x', { door: 'closed' });
    await home.report('garage-x', { door: 'open' });
    await home.advance(4 * MINUTE);
    await home.restart();
    await home.advance(5 * MINUTE);
    expect(await home.runs(id)).toEqual([]);
    await home.advance(MINUTE + 1000);
    await home.runsWhere(id, (runs) => runs.length === 1, 'the for: to fire after the restart');
    await home.restart();
    await home.advance(60 * MINUTE);
    expect(await home.runs(id)).toHaveLength(1);
    expect(home.messages('out/garage-left-open')).toEqual(['fired']);
  });

  it('fires a for: that fell due while the server was down, once, on start', async () => {
    const id = await home.createRule({
      name: 'Due while down',
      triggers: [{ type: 'state', entity: 'shed.door', to: 'open', for: '2m' }],
      actions: [publishOut('due-while-down')],
    });
    await home.report('shed', { door: 'closed' });
    await home.report('shed', { door: 'open' });
    await home.advance(MINUTE);
    const stoppedAt = await home.lastClock();
    await home.server.stop();
    // Down for ten minutes of test time: the next start is at that time.
    await home.restartAt(stoppedAt + 10 * MINUTE);
    await home.runsWhere(id, (runs) => runs.length === 1, 'the overdue for: on start');
    await home.restart();
    await home.advance(MINUTE);
    expect(await home.runs(id)).toHaveLength(1);
  });

  it('drops a for: whose state changed while the server was down', async () => {
    const id = await home.createRule({
      name: 'Changed while down',
      triggers: [{ type: 'state', entity: 'gate-x.door', to: 'open', for: '2m' }],
      actions: [publishOut('changed-while-down')],
    });
    await home.report('gate-x', { door: 'closed' });
    await home.report('gate-x', { door: 'open' });
    await home.restart();
    await home.report('gate-x', { door: 'closed' });
    await home.advance(5 * MINUTE);
    expect(await home.runs(id)).toEqual([]);
  });

  it('resumes a run paused in a delay after a restart, at the right time, without repeating its first actions', async () => {
    const id = await home.createRule({
      name: 'Delayed',
      triggers: [{ type: 'mqtt', topic: 'in/delayed' }],
      actions: [publishOut('delayed', 'before'), { type: 'delay', duration: '2m' }, publishOut('delayed', 'after')],
    });
    await home.publish('in/delayed', '');
    await home.runsWhere(id, (runs) => runs[0]?.status === 'waiting');
    await home.advance(MINUTE);
    await home.restart();
    expect(home.messages('out/delayed')).toEqual(['before']);
    await home.advance(30_000);
    expect(home.messages('out/delayed')).toEqual(['before']);
    await home.advance(31_000);
    const [run] = await home.runsWhere(id, (runs) => runs[0]?.status === 'done', 'the resumed run');
    expect(home.messages('out/delayed')).toEqual(['before', 'after']);
    expect(run?.trace.actions.map((a) => a.path)).toEqual(['0', '1', '2']);
    expect(run?.trace.actions[1]?.result).toMatch(/resumed after a restart/);
    await home.restart();
    await home.advance(10 * MINUTE);
    expect(home.messages('out/delayed')).toEqual(['before', 'after']);
  });
});

describe('rules: a power cut', () => {
  it('resumes a delay and a for: after the process is killed, each firing once', async () => {
    const delayed = await home.createRule({
      name: 'Power cut delay',
      triggers: [{ type: 'mqtt', topic: 'in/power-cut' }],
      actions: [publishOut('power-cut', 'before'), { type: 'delay', duration: '3m' }, publishOut('power-cut', 'after')],
    });
    const held = await home.createRule({
      name: 'Power cut for',
      triggers: [{ type: 'state', entity: 'cellar.door', to: 'open', for: '3m' }],
      actions: [publishOut('power-cut-for')],
    });
    await home.report('cellar', { door: 'closed' });
    await home.report('cellar', { door: 'open' });
    await home.publish('in/power-cut', '');
    await home.runsWhere(delayed, (runs) => runs[0]?.status === 'waiting');
    await home.advance(MINUTE);
    await home.restart({ powerCut: true });
    await home.advance(2 * MINUTE + 1000);
    await home.runsWhere(delayed, (runs) => runs.length === 1 && runs[0]?.status === 'done', 'the delayed run');
    await home.runsWhere(held, (runs) => runs.length === 1, 'the for:');
    expect(home.messages('out/power-cut')).toEqual(['before', 'after']);
    expect(home.messages('out/power-cut-for')).toEqual(['fired']);
  });
});

describe('rules: a wait across a restart', () => {
  it('keeps waiting for its trigger after a restart, with the time it had left', async () => {
    const id = await home.createRule({
      name: 'Wait across restart',
      triggers: [{ type: 'mqtt', topic: 'in/wait-restart' }],
      actions: [
        { type: 'wait', trigger: { type: 'mqtt', topic: 'in/wait-restart-ack' }, timeout: '5m' },
        publishOut('wait-restart', 'acknowledged'),
      ],
    });
    await home.publish('in/wait-restart', '');
    await home.runsWhere(id, (runs) => runs[0]?.status === 'waiting');
    await home.advance(2 * MINUTE);
    await home.restart();
    await home.publish('in/wait-restart-ack', '');
    const [run] = await home.runsWhere(id, (runs) => runs[0]?.status === 'done', 'the resumed wait');
    expect(home.messages('out/wait-restart')).toEqual(['acknowledged']);
    expect(run?.trace.actions[0]?.result).toMatch(/the trigger fired: MQTT message on in\/wait-restart-ack/);

    // A second run that hears nothing ends at its original deadline, not five minutes after the restart.
    await home.publish('in/wait-restart', '');
    await home.runsWhere(id, (runs) => runs.length === 2 && runs[0]?.status === 'waiting');
    await home.advance(4 * MINUTE);
    await home.restart();
    await home.advance(MINUTE + 1000);
    const [timedOut] = await home.runsWhere(id, (runs) => runs.length === 2 && runs[0]?.status === 'done', 'the wait to time out');
    expect(timedOut?.trace.reason).toBe('the wait at 0 timed out');
    expect(home.messages('out/wait-restart')).toEqual(['acknowledged']);
  });
});

describe('rules: modes under a burst of 100 triggers, and the loop guard', () => {
  async function burst(topic: string): Promise<void> {
    await Promise.all(Array.from({ length: 100 }, (_, i) => home.client.publishAsync(topic, String(i), { qos: 1 })));
  }

  function countBy(runs: Array<{ status: string }>): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const run of runs) counts[run.status] = (counts[run.status] ?? 0) + 1;
    return counts;
  }

  const slowRule = (name: string, mode: string, max?: number): Record<string, unknown> => ({
    name,
    mode,
    ...(max === undefined ? {} : { max }),
    triggers: [{ type: 'mqtt', topic: `in/burst/${name}` }],
    actions: [{ type: 'delay', duration: '1m' }, publishOut(`burst/${name}`)],
  });

  it('single: the first run goes on, the other 99 are skipped', async () => {
    const id = await home.createRule(slowRule('single', 'single'));
    await burst('in/burst/single');
    await home.runsWhere(id, (runs) => runs.length === 100);
    await home.advance(2 * MINUTE);
    const runs = await home.runsWhere(id, (r) => r.every((run) => run.status !== 'waiting'));
    expect(countBy(runs)).toEqual({ done: 1, skipped: 99 });
    expect(home.messages('out/burst/single')).toHaveLength(1);
  });

  it('restart: each trigger aborts the run before it, the last one finishes', async () => {
    const id = await home.createRule(slowRule('restart', 'restart'));
    await burst('in/burst/restart');
    await home.runsWhere(id, (runs) => runs.length === 100 && runs.filter((r) => r.status === 'aborted').length === 99);
    await home.advance(2 * MINUTE);
    const runs = await home.runsWhere(id, (r) => r.every((run) => run.status !== 'waiting'));
    expect(countBy(runs)).toEqual({ done: 1, aborted: 99 });
    expect(home.messages('out/burst/restart')).toHaveLength(1);
  });

  it('queued: runs one after another up to max, the rest are dropped', async () => {
    const id = await home.createRule(slowRule('queued', 'queued', 10));
    await burst('in/burst/queued');
    await home.runsWhere(id, (runs) => runs.length === 91, 'one run, nine queued, ninety dropped');
    for (let i = 0; i < 10; i++) await home.advance(MINUTE + 1000);
    const runs = await home.runsWhere(id, (r) => r.length === 100 && r.every((run) => run.status !== 'waiting'));
    expect(countBy(runs)).toEqual({ done: 10, dropped: 90 });
    expect(home.messages('out/burst/queued')).toHaveLength(10);
  });

  it('parallel: up to max runs at once, the rest are dropped', async () => {
    const id = await home.createRule(slowRule('parallel', 'parallel', 25));
    await burst('in/burst/parallel');
    await home.runsWhere(id, (runs) => runs.length === 100);
    await home.advance(2 * MINUTE);
    const runs = await home.runsWhere(id, (r) => r.every((run) => run.status !== 'waiting'));
    expect(countBy(runs)).toEqual({ done: 25, dropped: 75 });
    expect(home.messages('out/burst/parallel')).toHaveLength(25);
  });

  it('stops a rule whose action triggers itself, logs it, and the server stays responsive', async () => {
    const id = await home.createRule({
      name: 'Echo chamber',
      mode: 'parallel',
      triggers: [{ type: 'mqtt', topic: 'in/loop' }],
      actions: [{ type: 'publish', topic: 'in/loop', payload: 'again' }],
    });
    await home.publish('in/loop', 'start');
    const runs = await home.runsWhere(id, (r) => r.some((run) => run.status === 'loop'), 'the loop guard');
    await new Promise((r) => setTimeout(r, 500));
    const after = await home.runs(id);
    expect(after).toHaveLength(runs.length);
    expect(countBy(after)).toEqual({ done: 3, loop: 1 });
    expect(after[0]?.trace.reason).toMatch(/triggered by its own actions 3 times/);
    expect(home.server.logs()).toMatch(/rule echo-chamber triggers itself/);
    expect((await home.send('GET', '/api/health')).status).toBe(200);
  });

  it('stops two rules that trigger each other', async () => {
    const flip = await home.createRule({
      name: 'Flip',
      mode: 'parallel',
      triggers: [{ type: 'mqtt', topic: 'in/flip' }],
      actions: [{ type: 'publish', topic: 'in/flop', payload: '1' }],
    });
    const flop = await home.createRule({
      name: 'Flop',
      mode: 'parallel',
      triggers: [{ type: 'mqtt', topic: 'in/flop' }],
      actions: [{ type: 'publish', topic: 'in/flip', payload: '1' }],
    });
    await home.publish('in/flip', 'start');
    const both = async (): Promise<Array<{ status: string }>> => [...(await home.runs(flip)), ...(await home.runs(flop))];
    await waitFor(async () => ((await both()).some((run) => run.status === 'loop') ? true : undefined), 5000, 'the loop guard');
    await new Promise((r) => setTimeout(r, 500));
    // flip → flop → flip → flop → flip → flop, then a fourth flip in the same chain is refused.
    expect(countBy(await both())).toEqual({ done: 6, loop: 1 });
  });
});
