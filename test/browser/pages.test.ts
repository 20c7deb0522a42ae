import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, horizontalOverflow, openDashboard } from '../support/browser';
import { packPlugin, writeThermoPlugin } from '../support/plugins';
import { dht11Payload, getJson, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

interface PluginInfo {
  id: string;
  status: string;
  options: Record<string, unknown>;
}

const env = { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' };
let server: RunningServer;
let browser: Browser;
let page: Page;
let sensors: MqttClient;
let consoleErrors: string[];

function deviceCard(id: string): ReturnType<Page['locator']> {
  return page.locator(`[data-device="${id}"]`);
}

function pluginCard(id: string): ReturnType<Page['locator']> {
  return page.locator(`[data-plugin="${id}"]`);
}

async function goTo(name: 'Overview' | 'Devices' | 'Plugins'): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name }).click();
  await expect.poll(() => page.title()).toBe(`${name} · ninho`);
}

async function plugin(id: string): Promise<PluginInfo | undefined> {
  return (await getJson<PluginInfo[]>(server.url('/api/plugins'))).body.find((p) => p.id === id);
}

beforeAll(async () => {
  server = await startServer({ env });
  sensors = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { clientId: 'sensors', reconnectPeriod: 0 });
  await sensors.publishAsync('tele/hall/SENSOR', dht11Payload(20, 40), { qos: 1 });
  await sensors.publishAsync('tele/attic/SENSOR', dht11Payload(30, 50), { qos: 1 });
  await waitFor(async () => ((await getJson<unknown[]>(server.url('/api/devices'))).body.length === 2 ? true : undefined));
  ({ browser, page, consoleErrors } = await openDashboard(server.url('/')));
});

afterAll(async () => {
  await browser?.close();
  await sensors?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('devices page', () => {
  it('lists each device with its plugin, transport, online state, last seen and entities', async () => {
    await goTo('Devices');
    const hall = deviceCard('hall');
    await hall.getByRole('heading', { name: 'hall' }).waitFor();
    const text = await hall.textContent();
    expect(text).toContain('esp8266-dht11');
    expect(text).toContain('MQTT');
    expect(text).toContain('online');
    expect(text).toMatch(/\d+ s ago/);
    const entities = await hall.locator('[data-entity-row]').allTextContents();
    expect(entities).toHaveLength(2);
    expect(entities).toEqual(
      expect.arrayContaining([expect.stringMatching(/Temperature.*20 °C/), expect.stringMatching(/Humidity.*40 %/)]),
    );
  });

  it('filters devices with the search box', async () => {
    const search = page.getByRole('searchbox', { name: 'Search devices' });
    await search.fill('attic');
    await expect.poll(() => page.locator('[data-device]').count()).toBe(1);
    await page.getByRole('status').filter({ hasText: '1 of 2 devices' }).waitFor();
    await search.fill('esp8266 hall');
    await expect.poll(() => page.locator('[data-device]').count()).toBe(1);
    await deviceCard('hall').waitFor();
    await search.fill('');
    await expect.poll(() => page.locator('[data-device]').count()).toBe(2);
  });

  it('renames a device and an entity from the keyboard', async () => {
    await page.getByRole('button', { name: 'Rename device hall' }).click();
    const name = page.getByRole('textbox', { name: 'New name for device hall' });
    // The field has the focus, holding the current name, so typing replaces it.
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.value')).toBe('hall');
    await name.fill('Hallway');
    await name.press('Enter');
    await deviceCard('hall').getByRole('heading', { name: 'Hallway' }).waitFor();
    expect((await getJson<{ name: string }>(server.url('/api/devices/hall'))).body.name).toBe('Hallway');

    await page.getByRole('button', { name: 'Rename entity Temperature' }).first().click();
    const entity = deviceCard('hall').getByRole('textbox', { name: 'New name for entity Temperature' });
    await entity.fill('Hall temperature');
    await deviceCard('hall').getByRole('button', { name: 'Save' }).click();
    await deviceCard('hall').getByText('Hall temperature').waitFor();

    // Escape leaves the name as it was.
    await page.getByRole('button', { name: 'Rename device attic' }).click();
    await page.getByRole('textbox', { name: 'New name for device attic' }).fill('Loft');
    await page.getByRole('textbox', { name: 'New name for device attic' }).press('Escape');
    await deviceCard('attic').getByRole('heading', { name: 'attic' }).waitFor();
  });

  it('shows why a rename was refused', async () => {
    await page.getByRole('button', { name: 'Rename device Hallway' }).click();
    await page.getByRole('textbox', { name: 'New name for device Hallway' }).fill('   ');
    await deviceCard('hall').getByRole('button', { name: 'Save' }).click();
    await deviceCard('hall')
      .getByRole('alert')
      .getByText(/invalid request: name/)
      .waitFor();
    await deviceCard('hall').getByRole('button', { name: 'Cancel' }).click();
  });

  it('removes a device, purging its history when asked', async () => {
    await deviceCard('attic').getByRole('button', { name: 'Remove…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove device attic?' });
    await dialog.getByRole('radio', { name: /Delete its history/ }).check();
    await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
    await deviceCard('attic').waitFor({ state: 'detached' });
    expect((await getJson(server.url('/api/devices/attic'))).status).toBe(404);
    expect((await getJson(server.url('/api/entities/attic.temperature/history'))).status).toBe(404);
  });

  it('passes the axe-core WCAG 2.1 A and AA checks', async () => {
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('fits a phone (390 px) without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 900 });
  });
});

describe('plugins page', () => {
  it('lists the plugins with version, status and source', async () => {
    await goTo('Plugins');
    const garage = pluginCard('garage-door');
    await garage.getByText('active').waitFor();
    expect(await garage.textContent()).toMatch(/garage-door · \d+\.\d+\.\d+ · bundled/);
  });

  it('installs a plugin from a .tgz through the page, with live progress, and its device appears', async () => {
    const work = tempDataDir();
    const source = path.join(work, 'thermo');
    writeThermoPlugin(source, '1.0.0', 1);
    const tgz = await packPlugin(source, work);
    await page.getByLabel('or a package file (.tgz)').setInputFiles(tgz);
    await page.getByRole('button', { name: 'Upload and install' }).click();
    await page.getByRole('status').filter({ hasText: 'thermo 1.0.0 installed and active.' }).waitFor({ timeout: 15_000 });
    const steps = await page.getByRole('log', { name: 'Install progress' }).locator('li').allTextContents();
    expect(steps[0]).toMatch(/unpacking an uploaded package/);
    expect(steps).toContainEqual(expect.stringMatching(/starting thermo@1.0.0/));
    await pluginCard('thermo').getByText('active').waitFor();

    await sensors.publishAsync('thermo/den/t', '21.5', { qos: 1 });
    await goTo('Overview');
    await page.locator('[data-entity="den.temperature"]').getByText('21.5 °C').waitFor();
    await goTo('Plugins');
  });

  it('refuses a broken package with a readable reason', async () => {
    await page
      .getByLabel('or a package file (.tgz)')
      .setInputFiles({ name: 'broken.tgz', mimeType: 'application/gzip', buffer: Buffer.from('no') });
    await page.getByRole('button', { name: 'Upload and install' }).click();
    await page
      .getByRole('alert')
      .getByText(/Install failed: /)
      .waitFor({ timeout: 15_000 });
  });

  it('configures a plugin with a form generated from its options schema, showing errors at their field', async () => {
    const garage = pluginCard('garage-door');
    await garage.getByRole('button', { name: 'Configure' }).click();
    const travel = garage.getByRole('spinbutton', { name: 'travelTimeoutMs' });
    expect(await travel.getAttribute('placeholder')).toBe('60000');
    await travel.fill('50');
    await garage.getByRole('button', { name: 'Save options' }).click();
    await garage.getByRole('alert').getByText('invalid options for garage-door').waitFor();
    const describedBy = (await travel.getAttribute('aria-describedby')) ?? '';
    const fieldError = page.locator(`[id="${describedBy.split(' ')[1] ?? ''}"]`);
    expect(await fieldError.textContent()).toMatch(/100/);

    await travel.fill('30000');
    await garage.getByRole('button', { name: 'Save options' }).click();
    await garage.getByRole('status').getByText(/Saved/).waitFor();
    expect((await plugin('garage-door'))?.options).toEqual({ travelTimeoutMs: 30000 });
  });

  it('disables and enables a plugin', async () => {
    const thermo = pluginCard('thermo');
    await thermo.getByRole('checkbox', { name: 'Enabled' }).uncheck();
    await thermo.getByText('disabled', { exact: true }).waitFor();
    expect((await plugin('thermo'))?.status).toBe('disabled');
    await thermo.getByRole('checkbox', { name: 'Enabled' }).check();
    await thermo.getByText('active', { exact: true }).waitFor();
  });

  it('passes the axe-core WCAG 2.1 A and AA checks with a form open', async () => {
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('fits a phone (390 px) with a form open', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('removes an installed plugin', async () => {
    await pluginCard('thermo').getByRole('button', { name: 'Remove…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove plugin thermo?' });
    await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
    await pluginCard('thermo').waitFor({ state: 'detached' });
    expect(await plugin('thermo')).toBeUndefined();
  });

  it('says so when the server cannot be reached, and recovers', async () => {
    await goTo('Devices');
    const ports = { http: server.http, mqtt: server.mqtt };
    await sensors.endAsync(true);
    await server.stop();
    await goTo('Plugins');
    await page.getByRole('alert').getByText('Could not list the plugins: ninho cannot be reached; is the server running?').waitFor();
    server = await startServer({ dataDir: server.dataDir, ports, env });
    await page.getByRole('button', { name: 'Try again' }).click();
    await pluginCard('garage-door').waitFor();
  });

  it('logs no errors to the console', () => {
    // Chromium logs every failed request and the dropped WebSocket; the page itself must log nothing.
    expect(consoleErrors.filter((e) => !/Failed to load resource|WebSocket connection to .* failed/.test(e))).toEqual([]);
  });
});
