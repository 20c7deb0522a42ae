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
    await home.advance(3 * MINUTE);
    await home.runsWhere(time, (runs) => runs.length === 1, 'the time trigger');
    await home.advance(30 * MINUTE);
    const cronRuns = await home.runsWhere(cron, (runs) => runs.length === 3, 'three cron runs in 33 minutes');
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
