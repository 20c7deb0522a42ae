import { connectAsync, type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GarageSimulator } from '../../hardware/garage-door/simulator';
import { accessibilityViolations, horizontalOverflow, openDashboard } from '../support/browser';
import { dht11Payload, startServer, waitFor, type RunningServer } from '../support/server';

let server: RunningServer;
let browser: Browser;
let page: Page;
let sensor: MqttClient;
let garage: GarageSimulator;
let consoleErrors: string[];

function tile(entityId: string): ReturnType<Page['locator']> {
  return page.locator(`[data-entity="${entityId}"]`);
}

beforeAll(async () => {
  server = await startServer({ env: { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' } });
  sensor = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { clientId: 'kitchen-dht', reconnectPeriod: 0 });
  await sensor.publishAsync('tele/kitchen-dht/SENSOR', dht11Payload(21, 40), { qos: 1 });
  garage = await GarageSimulator.start({ url: `mqtt://127.0.0.1:${server.mqtt}`, id: 'garage-1', travelMs: 500, name: 'Garage' });
  ({ browser, page, consoleErrors } = await openDashboard(server.url('/')));
});

afterAll(async () => {
  await browser?.close();
  await garage?.stop().catch(() => undefined);
  await sensor?.endAsync(true).catch(() => undefined);
  await server?.stop();
});

describe('dashboard overview in Chromium', () => {
  it('shows a tile per entity with its value, unit and device state', async () => {
    await tile('kitchen-dht.temperature').getByText('21 °C').waitFor();
    await expect(tile('kitchen-dht.humidity').locator('.value').textContent()).resolves.toBe('40 %');
    await expect(tile('kitchen-dht.temperature').locator('.status').textContent()).resolves.toBe('online');
  });

  it('updates a tile live when a reading arrives over MQTT, without a reload', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    const sent = Date.now();
    await sensor.publishAsync('tele/kitchen-dht/SENSOR', dht11Payload(22.6, 41), { qos: 1 });
    await tile('kitchen-dht.temperature').getByText('22.6 °C').waitFor({ timeout: 5000 });
    // The issue asks for one second; measured here, not asserted tightly, on a shared machine.
    expect(Date.now() - sent).toBeLessThan(3000);
    expect(navigations).toEqual([]);
  });

  it('opens the garage: the controller receives OPEN, the tile goes opening then open', async () => {
    const door = tile('garage-1.door');
    await door.locator('.value').getByText('closed').waitFor();
    await door.getByRole('button', { name: 'Open' }).click();
    await door.locator('.value').getByText('opening').waitFor({ timeout: 5000 });
    expect(garage.received).toEqual(['OPEN']);
    await door.locator('.value').getByText('open', { exact: true }).waitFor({ timeout: 5000 });
  });

  it('charts the history of an entity from bucketed server data, and follows new readings', async () => {
    await tile('kitchen-dht.temperature').getByRole('button', { name: 'History' }).click();
    const chart = page.getByRole('region', { name: 'History of Temperature' });
    await chart.locator('canvas').first().waitFor();
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 5000 }).toBeGreaterThan(0);
    await chart.getByRole('button', { name: '24 h' }).click();
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 5000 }).toBeGreaterThan(0);
    await expect(chart.getByRole('button', { name: '24 h' }).getAttribute('aria-pressed')).resolves.toBe('true');
  });

  it('passes the axe-core WCAG 2.1 A and AA checks, chart open, in light and dark themes', async () => {
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('has no horizontal scroll at phone width (390 px)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  });

  it('shows a dropped connection, reconnects and catches up', async () => {
    await server.stop();
    await page
      .getByRole('alert')
      .getByText(/reconnecting/)
      .waitFor();
    server = await startServer({
      dataDir: server.dataDir,
      ports: { http: server.http, mqtt: server.mqtt },
      env: { NINHO_HISTORY_FLUSH_INTERVAL_MS: '100' },
    });
    // A reading that arrives while the page is away shows after it reconnects.
    await waitFor(async () => (sensor.connected ? true : undefined)).catch(() => undefined);
    const late = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
    await late.publishAsync('tele/kitchen-dht/SENSOR', dht11Payload(23.4, 42), { qos: 1 });
    await late.endAsync();
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });
    await tile('kitchen-dht.temperature').getByText('23.4 °C').waitFor({ timeout: 5000 });
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('logs no errors to the console', () => {
    // The dropped connection above makes Chromium log the failed WebSocket; nothing else may appear.
    expect(consoleErrors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
  });
});
