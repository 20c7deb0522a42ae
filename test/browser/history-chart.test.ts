import { connectAsync } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboard } from '../support/browser';
import { seedMinuteReadings } from '../support/history-seed';
import { dht11Payload, getJson, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

const YEAR_MINUTES = 365 * 24 * 60;
let server: RunningServer;
let browser: Browser;
let page: Page;
let consoleErrors: string[];

function chart(): ReturnType<Page['locator']> {
  return page.getByRole('region', { name: 'History of Temperature' });
}

async function points(): Promise<number> {
  return Number(await chart().getAttribute('data-points'));
}

beforeAll(async () => {
  // Register the entity once, then write a year of one-minute readings into the stopped server's database.
  const dataDir = tempDataDir();
  server = await startServer({ dataDir });
  const sensor = await connectAsync(`mqtt://127.0.0.1:${server.mqtt}`, { reconnectPeriod: 0 });
  await sensor.publishAsync('tele/year-dht/SENSOR', dht11Payload(20, 40), { qos: 1 });
  await sensor.endAsync();
  await waitFor(async () => ((await getJson(server.url('/api/devices/year-dht'))).status === 200 ? true : undefined));
  await server.stop();
  seedMinuteReadings(dataDir, 'year-dht.temperature', YEAR_MINUTES, Math.floor(Date.now() / 60_000) * 60_000);
  server = await startServer({ dataDir });
  ({ browser, page, consoleErrors } = await openDashboard(server.url('/')));
  await page.locator('[data-entity="year-dht.temperature"]').getByRole('button', { name: 'History' }).click();
  await chart().locator('canvas').first().waitFor();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('history chart over a year of one-minute readings', () => {
  it('charts each preset range from bucketed data, never more than a few thousand points', async () => {
    // The seeded readings end at the minute the test started, a little before the chart's "now".
    const expected: Record<string, [number, number, string]> = {
      '1 h': [55, 61, '1m'],
      '24 h': [285, 289, '5m'],
      '7 d': [167, 169, '1h'],
      '30 d': [719, 721, '1h'],
      '1 y': [365, 366, '1d'],
    };
    for (const [label, [min, max, bucket]] of Object.entries(expected)) {
      await chart().getByRole('button', { name: label }).click();
      await expect.poll(() => chart().getAttribute('data-bucket')).toBe(bucket);
      await expect.poll(points, { timeout: 10_000, message: label }).toBeGreaterThanOrEqual(min);
      expect(await points()).toBeLessThanOrEqual(max);
    }
  });

  it('stays responsive with the year on screen: the cursor legend follows the mouse', async () => {
    const box = await chart().locator('.u-over').boundingBox();
    if (!box) throw new Error('chart has no plotting area');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => chart().locator('.u-legend .u-series').nth(2).locator('.u-value').textContent()).toMatch(/\d+\.\d °C/);
  });

  it('zooms into a dragged window with finer buckets, and pans through time', async () => {
    const box = await chart().locator('.u-over').boundingBox();
    if (!box) throw new Error('chart has no plotting area');
    // About the last 1/50 of the year, a week: loaded again in 15-minute buckets instead of days.
    await page.mouse.move(box.x + box.width * 0.97, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.99, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => chart().getAttribute('data-bucket')).toBe('15m');
    await expect.poll(points).toBeGreaterThan(100);
    const zoomedFrom = await chart().getByLabel('From', { exact: true }).inputValue();

    await chart().getByRole('button', { name: '◀ Earlier' }).click();
    await expect.poll(() => chart().getByLabel('From', { exact: true }).inputValue()).not.toBe(zoomedFrom);
    expect((await chart().getByLabel('From', { exact: true }).inputValue()) < zoomedFrom).toBe(true);

    await chart().getByRole('button', { name: 'Back to 1 y' }).click();
    await expect.poll(() => chart().getAttribute('data-bucket')).toBe('1d');
    await expect(chart().getByRole('button', { name: '1 y' }).getAttribute('aria-pressed')).resolves.toBe('true');
  });

  it('charts a custom range typed into the form', async () => {
    const to = new Date(Date.now() - 30 * 86_400_000);
    const from = new Date(to.getTime() - 2 * 86_400_000);
    const local = (d: Date): string => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await chart().getByLabel('From', { exact: true }).fill(local(from));
    await chart().getByLabel('To', { exact: true }).fill(local(to));
    await chart().getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => chart().getAttribute('data-bucket')).toBe('5m');
    await expect.poll(points).toBeGreaterThanOrEqual(575);
  });

  it('logs no errors to the console', () => {
    expect(consoleErrors).toEqual([]);
  });
});
