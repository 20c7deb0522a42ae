import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GarageSimulator } from '../../hardware/garage-door/simulator';
import { RulesHarness } from '../support/rules';
import { getJson, REPO_ROOT, waitFor } from '../support/server';

const EXAMPLE = fs.readFileSync(path.join(REPO_ROOT, 'hardware', 'garage-door', 'rules', 'car-arrives-open-garage.yaml'), 'utf8');
const RULE = 'car-arrives-open-garage';
const MINUTE = 60_000;
let home: RulesHarness;
let garage: GarageSimulator;

async function door(): Promise<unknown> {
  const { body } = await getJson<{ entities?: Array<{ key: string; state: unknown }> }>(home.server.url('/api/devices/garage-1'));
  return body.entities?.find((e) => e.key === 'door')?.state;
}

async function doorBecomes(state: string): Promise<void> {
  await waitFor(async () => ((await door()) === state ? true : undefined), 10_000, `the door to be ${state}`);
}

async function startGarage(): Promise<void> {
  garage = await GarageSimulator.start({ url: `mqtt://127.0.0.1:${home.server.mqtt}`, id: 'garage-1', travelMs: 300, name: 'Garage' });
  await doorBecomes('closed');
}

beforeAll(async () => {
  home = await RulesHarness.start({
    ruleFiles: {
      'car-arrives-open-garage.yaml': EXAMPLE,
      'broken.yaml': 'name: Broken\ntriggers: []\nactions:\n  - type: teleport\n',
      'not-yaml.yaml': 'name: [unclosed',
    },
  });
  await startGarage();
});

afterAll(async () => {
  await garage?.stop().catch(() => undefined);
  await home?.stop();
});

describe('the shipped example rule with the simulated garage', () => {
  it('loads the rule file and skips broken ones with their errors', async () => {
    const { body } = await getJson<Array<{ id: string; source: string; file: string }>>(home.server.url('/api/rules'));
    expect(body.map(({ id, source }) => ({ id, source }))).toEqual([{ id: RULE, source: 'file' }]);
    expect(body[0]?.file).toMatch(/car-arrives-open-garage.yaml$/);
    expect(home.server.logs()).toMatch(/broken.yaml is skipped: triggers: /);
    expect(home.server.logs()).toMatch(/broken.yaml is skipped: actions.0.type: /);
    expect(home.server.logs()).toMatch(/not-yaml.yaml is skipped: \(file\): cannot be read/);
    expect(
      (
        await home.send('PUT', `/api/rules/${RULE}`, {
          name: 'x',
          triggers: [{ type: 'mqtt', topic: 'x' }],
          actions: [{ type: 'delay', duration: 1 }],
        })
      ).status,
    ).toBe(409);
    expect((await home.send('DELETE', `/api/rules/${RULE}`)).status).toBe(409);
  });

  it('opens the door when the car arrives, and closes it two minutes later when nothing moves', async () => {
    await garage.carArrives(200);
    await doorBecomes('open');
    expect(garage.received).toEqual(['OPEN']);
    await home.advance(MINUTE);
    expect(garage.received).toEqual(['OPEN']);
    await home.advance(MINUTE + 1000);
    await doorBecomes('closed');
    expect(garage.received).toEqual(['OPEN', 'CLOSE']);
    const [run] = await home.runsWhere(RULE, (runs) => runs[0]?.status === 'done');
    expect(run?.trigger.description).toBe('garage-1.occupancy changed from false to true');
    expect(run?.trace.actions.map((a) => `${a.path} ${a.type}`)).toEqual(['0 command', '1 delay', '2 if', '2.then.0 command']);
  });

  it('leaves the door open when something still moves after two minutes', async () => {
    await garage.carLeaves(200);
    await garage.carArrives(200);
    await doorBecomes('open');
    await home.advance(MINUTE);
    garage.setMotion(true);
    await waitFor(async () => {
      const { body } = await getJson<{ entities: Array<{ key: string; state: unknown }> }>(home.server.url('/api/devices/garage-1'));
      return body.entities.find((e) => e.key === 'motion')?.state === true ? true : undefined;
    });
    await home.advance(MINUTE + 1000);
    const [run] = await home.runsWhere(RULE, (runs) => runs.length === 2 && runs[0]?.status === 'done');
    expect(run?.trace.actions.map((a) => `${a.path} ${a.type} ${a.result ?? ''}`).at(-1)).toBe('2 if else');
    expect(await door()).toBe('open');
    expect(garage.received).toEqual(['OPEN', 'CLOSE', 'OPEN']);
  });

  it('does not open a door that is already open', async () => {
    await garage.carLeaves(200);
    await garage.carArrives(200);
    const [run] = await home.runsWhere(RULE, (runs) => runs.length === 3);
    expect(run?.status).toBe('not-met');
    expect(garage.received).toEqual(['OPEN', 'CLOSE', 'OPEN']);
  });

  it('stops a rule that keeps commanding the door its own trigger watches, through the real device', async () => {
    await garage.carLeaves(200);
    await doorBecomes('open');
    const id = await home.createRule({
      name: 'Ping pong',
      mode: 'parallel',
      triggers: [{ type: 'state', entity: 'garage-1.door', to: ['open', 'closed'] }],
      actions: [
        {
          type: 'if',
          condition: { type: 'state', entity: 'garage-1.door', state: 'open' },
          then: [{ type: 'command', entity: 'garage-1.door', command: 'close' }],
          else: [{ type: 'command', entity: 'garage-1.door', command: 'open' }],
        },
      ],
    });
    // A person closes the door: that starts it; each answer of the door then comes from the rule.
    expect((await home.send('POST', '/api/entities/garage-1.door/command', { command: 'close' })).status).toBe(202);
    const runs = await home.runsWhere(id, (r) => r.some((run) => run.status === 'loop'), 'the loop guard');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await home.runs(id)).toHaveLength(runs.length);
    expect(runs.map((r) => r.status)).toEqual(['loop', 'done', 'done', 'done']);
    await home.send('DELETE', `/api/rules/${id}`);
  });

  it('reloads the rule files while running: adds, changes and removes rules, and a broken file changes nothing', async () => {
    const rulesDir = path.join(home.dataDir, 'rules');
    fs.rmSync(path.join(rulesDir, 'broken.yaml'));
    fs.rmSync(path.join(rulesDir, 'not-yaml.yaml'));
    const echo = (payload: string): string =>
      `name: File echo\ntriggers:\n  - { type: mqtt, topic: in/file-echo }\nactions:\n  - { type: publish, topic: out/file-echo, payload: ${payload} }\n`;
    fs.writeFileSync(path.join(rulesDir, 'echo.yaml'), echo('one'));
    const first = await home.send<Record<string, unknown>>('POST', '/api/rules/reload');
    expect(first).toEqual({ status: 200, body: { added: ['file-echo'], changed: [], removed: [], unchanged: [RULE], problems: [] } });
    await home.publish('in/file-echo', '');
    await waitFor(() => (home.messages('out/file-echo').at(-1) === 'one' ? true : undefined));

    fs.writeFileSync(path.join(rulesDir, 'echo.yaml'), echo('two'));
    expect((await home.send('POST', '/api/rules/reload')).body).toMatchObject({ changed: ['file-echo'] });
    await home.publish('in/file-echo', '');
    await waitFor(() => (home.messages('out/file-echo').at(-1) === 'two' ? true : undefined));

    fs.writeFileSync(path.join(rulesDir, 'echo.yaml'), echo('three').replace('type: mqtt', 'type: carrier-pigeon'));
    const broken = await home.send<{ problems: Array<{ file: string; path: string }>; removed: string[] }>('POST', '/api/rules/reload');
    expect(broken.body.problems).toEqual([expect.objectContaining({ file: path.join(rulesDir, 'echo.yaml'), path: 'triggers.0.type' })]);
    expect(broken.body.removed).toEqual([]);
    await home.publish('in/file-echo', '');
    await waitFor(() => (home.messages('out/file-echo').length === 3 ? true : undefined));
    expect(home.messages('out/file-echo').at(-1)).toBe('two');

    fs.rmSync(path.join(rulesDir, 'echo.yaml'));
    expect((await home.send('POST', '/api/rules/reload')).body).toMatchObject({ removed: ['file-echo'], problems: [] });
    expect((await home.send('GET', '/api/rules/file-echo')).status).toBe(404);
  });

  it('keeps a file rule disabled across a restart once disabled from the API', async () => {
    expect((await home.send('PATCH', `/api/rules/${RULE}`, { enabled: false })).body).toMatchObject({ enabled: false });
    await garage.stop();
    await home.restart();
    expect((await home.send('GET', `/api/rules/${RULE}`)).body).toMatchObject({ enabled: false, source: 'file' });
    await home.send('PATCH', `/api/rules/${RULE}`, { enabled: true });
  });
});
