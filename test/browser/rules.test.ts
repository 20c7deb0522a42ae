import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GarageSimulator } from '../../hardware/garage-door/simulator';
import { accessibilityViolations, horizontalOverflow, openDashboard } from '../support/browser';
import { RulesHarness } from '../support/rules';
import { REPO_ROOT, waitFor } from '../support/server';

const EXAMPLE = fs.readFileSync(path.join(REPO_ROOT, 'hardware', 'garage-door', 'rules', 'car-arrives-open-garage.yaml'), 'utf8');
let home: RulesHarness;
let garage: GarageSimulator;
let browser: Browser;
let page: Page;
let consoleErrors: string[];

function ruleCard(id: string): ReturnType<Page['locator']> {
  return page.locator(`[data-rule="${id}"]`);
}

const ECHO_RULE = `name: Echo from the dashboard
triggers:
  - type: mqtt
    topic: in/echo
actions:
  - type: publish
    topic: out/echo
    payload: hello
`;

beforeAll(async () => {
  home = await RulesHarness.start({ ruleFiles: { 'car-arrives-open-garage.yaml': EXAMPLE } });
  garage = await GarageSimulator.start({ url: `mqtt://127.0.0.1:${home.server.mqtt}`, id: 'garage-1', travelMs: 300, name: 'Garage' });
  ({ browser, page, consoleErrors } = await openDashboard(home.server.url('/#/rules')));
});

afterAll(async () => {
  await browser?.close();
  await garage?.stop().catch(() => undefined);
  await home?.stop();
});

describe('rules page', () => {
  it('lists the rule from the data folder, read-only, with its trigger', async () => {
    const example = ruleCard('car-arrives-open-garage');
    await example.getByRole('heading', { name: 'When the car arrives, open the garage' }).waitFor();
    expect(await example.textContent()).toContain('When: garage-1.occupancy changes to true');
    await example.getByRole('button', { name: 'View' }).click();
    const yaml = example.getByRole('textbox', { name: 'Rule (YAML)' });
    expect(await yaml.getAttribute('readonly')).not.toBeNull();
    expect(await yaml.inputValue()).toContain('duration: 2m');
    await example.getByRole('button', { name: 'Close' }).click();
    expect(await example.getByRole('button', { name: 'Remove…' }).count()).toBe(0);
  });

  it('validates a new rule as it is typed, showing each error with its path, then creates it', async () => {
    await page.getByRole('button', { name: 'New rule' }).click();
    const editor = page.getByRole('form', { name: 'New rule' });
    const yaml = editor.getByRole('textbox', { name: 'Rule (YAML)' });
    await yaml.fill(ECHO_RULE.replace('topic: out/echo', 'topic: out/+').replace('type: mqtt', 'type: mqtt\n    payload: 3'));
    await editor.getByText('The rule has errors:').waitFor();
    const errors = await editor.locator('.check li').allTextContents();
    expect(errors).toEqual([
      expect.stringMatching(/^triggers\.0\.payload: /),
      expect.stringMatching(/^actions\.0\.topic: a topic to publish to has no wildcards/),
    ]);
    await yaml.fill(ECHO_RULE);
    await editor.getByText('Valid.').waitFor();
    await editor.getByRole('button', { name: 'Create' }).click();
    await ruleCard('echo-from-the-dashboard').getByRole('status').getByText('Created Echo from the dashboard.').waitFor();
  });

  it('runs a rule now and shows the run with its actions', async () => {
    const echo = ruleCard('echo-from-the-dashboard');
    await echo.getByRole('button', { name: 'Run now' }).click();
    await echo.getByRole('button', { name: 'Runs' }).click();
    const run = echo.locator('[data-run-status="done"]').first();
    await run.waitFor();
    await run.locator('summary').click();
    expect(await run.textContent()).toMatch(/run from the API.*publish: published 5 bytes to out\/echo/s);
    await waitFor(() => (home.messages('out/echo').length === 1 ? true : undefined));
  });

  it('disables and enables a rule', async () => {
    const toggle = ruleCard('echo-from-the-dashboard').getByRole('checkbox', { name: 'Enabled' });
    await toggle.uncheck();
    await waitFor(async () =>
      (await home.send<{ enabled: boolean }>('GET', '/api/rules/echo-from-the-dashboard')).body.enabled ? undefined : true,
    );
    await home.publish('in/echo', '');
    await new Promise((r) => setTimeout(r, 300));
    expect(home.messages('out/echo')).toHaveLength(1);
    await toggle.check();
    await waitFor(async () =>
      (await home.send<{ enabled: boolean }>('GET', '/api/rules/echo-from-the-dashboard')).body.enabled ? true : undefined,
    );
  });

  it('edits a rule and refuses a bad save with its errors, leaving the rule as it was', async () => {
    const echo = ruleCard('echo-from-the-dashboard');
    await echo.getByRole('button', { name: 'Edit' }).click();
    const editor = echo.getByRole('form', { name: 'Edit Echo from the dashboard' });
    const yaml = editor.getByRole('textbox', { name: 'Rule (YAML)' });
    await yaml.fill((await yaml.inputValue()).replace('payload: hello', 'payload: hello again').replace('mode: single', 'mode: whenever'));
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.getByText(/^mode: /).waitFor();
    await home.publish('in/echo', '');
    await waitFor(() => (home.messages('out/echo').at(-1) === 'hello' ? true : undefined));
    await yaml.fill((await yaml.inputValue()).replace('mode: whenever', 'mode: single'));
    await editor.getByRole('button', { name: 'Save' }).click();
    await echo.getByRole('status').getByText('Saved.').waitFor();
    await home.publish('in/echo', '');
    await waitFor(() => (home.messages('out/echo').at(-1) === 'hello again' ? true : undefined));
  });

  it("shows the shipped example's run as the garage opens and closes for the car", async () => {
    const example = ruleCard('car-arrives-open-garage');
    await example.getByRole('button', { name: 'Runs' }).click();
    await garage.carArrives(200);
    await example.locator('[data-run-status="waiting"]').waitFor();
    await home.advance(2 * 60_000 + 1000);
    const run = example.locator('[data-run-status="done"]').first();
    await run.waitFor({ timeout: 10_000 });
    await run.locator('summary').click();
    expect(await run.textContent()).toMatch(
      /garage-1.occupancy changed from .* to true.*✓ conditions.0 state: garage-1.door is "closed".*delay.*2.then.0.*command: garage-1.door accepted "close"/s,
    );
    expect(garage.received).toEqual(['OPEN', 'CLOSE']);
  });

  it('reloads the rule files, showing a broken file with its errors', async () => {
    const file = path.join(home.dataDir, 'rules', 'porch.yaml');
    fs.writeFileSync(file, 'name: Porch light\ntriggers:\n  - { type: sun, event: noon }\nactions:\n  - { type: delay, duration: 1s }\n');
    await page.getByRole('button', { name: 'Reload rule files' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'These files have errors and changed nothing' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('triggers.0.event');
    fs.writeFileSync(file, 'name: Porch light\ntriggers:\n  - { type: sun, event: sunset }\nactions:\n  - { type: delay, duration: 1s }\n');
    await page.getByRole('button', { name: 'Reload rule files' }).click();
    await page.getByRole('status').filter({ hasText: 'Rule files read: 1 added, 0 changed, 0 removed, 1 unchanged.' }).waitFor();
    await ruleCard('porch-light').getByText('When: sunset').waitFor();
  });

  it('passes the axe-core checks and fits a phone', async () => {
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('removes a rule after asking', async () => {
    await ruleCard('echo-from-the-dashboard').getByRole('button', { name: 'Remove…' }).click();
    await page.getByRole('dialog', { name: 'Remove rule Echo from the dashboard?' }).getByRole('button', { name: 'Remove' }).click();
    await ruleCard('echo-from-the-dashboard').waitFor({ state: 'detached' });
    expect((await home.send('GET', '/api/rules/echo-from-the-dashboard')).status).toBe(404);
  });

  it('logs no errors to the console', () => {
    // The refused save answers 400, which Chromium logs as a failed resource; the page logs nothing itself.
    expect(consoleErrors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
  });
});
