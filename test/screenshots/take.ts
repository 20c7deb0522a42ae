/**
 * `npm run screenshots`: the README's pictures, taken with the browser-test tooling from
 * the simulated demo home (three DHT11 sensors, a garage and a gate), with a week of
 * seeded history behind dht-1 so that its chart has something to show.
 */
import path from 'node:path';
import { Dht11Simulator } from '../../hardware/esp8266-dht11/simulator';
import { GarageSimulator } from '../../hardware/garage-door/simulator';
import { openDashboard } from '../support/browser';
import { seedMinuteReadings } from '../support/history-seed';
import { REPO_ROOT, getJson, startServer, tempDataDir, waitFor, type RunningServer } from '../support/server';

const OUT = path.join(REPO_ROOT, 'web', 'screenshots');

interface DemoHome {
  stop(): Promise<void>;
}

async function startDemoHome(server: RunningServer): Promise<DemoHome> {
  const url = `mqtt://127.0.0.1:${server.mqtt}`;
  const sensors = await Promise.all([1, 2, 3].map((i) => Dht11Simulator.start(url, `dht-${i}`, 2000)));
  const garage = await GarageSimulator.start({ url, id: 'garage-1', travelMs: 3000, deviceClass: 'garage', name: 'Garage' });
  const gate = await GarageSimulator.start({ url, id: 'gate-1', travelMs: 3000, deviceClass: 'gate', name: 'Gate 1' });
  await waitFor(async () => ((await getJson<unknown[]>(server.url('/api/devices'))).body.length === 5 ? true : undefined), 15_000);
  return {
    stop: async () => {
      await Promise.all([...sensors.map((s) => s.stop()), garage.stop(), gate.stop()]);
    },
  };
}

function say(line: string): void {
  process.stderr.write(`screenshots: ${line}\n`);
}

async function main(): Promise<void> {
  const dataDir = tempDataDir();
  say('registering the demo home');
  let server = await startServer({ dataDir });
  await (await startDemoHome(server)).stop();
  await server.stop();

  say('seeding a week of one-minute readings for dht-1');
  seedMinuteReadings(dataDir, 'dht-1.temperature', 7 * 24 * 60, Math.floor(Date.now() / 60_000) * 60_000);
  server = await startServer({ dataDir });
  const home = await startDemoHome(server);
  const { browser, page } = await openDashboard(server.url('/'), { width: 1200, height: 760 });
  try {
    await page.locator('[data-entity="gate-1.door"] .value').getByText('closed').waitFor();
    await page.locator('[data-entity="gate-1.door"]').getByRole('button', { name: 'Open' }).click();
    await page.locator('[data-entity="gate-1.door"] .value').getByText('open', { exact: true }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(OUT, 'overview.png') });
    say(`wrote ${path.join(OUT, 'overview.png')}`);

    await page.locator('[data-entity="dht-1.temperature"]').getByRole('button', { name: 'History' }).click();
    const chart = page.getByRole('region', { name: /^History of / });
    await chart.getByRole('button', { name: '7 d' }).click();
    await waitFor(async () => ((await chart.getAttribute('data-bucket')) === '1h' ? true : undefined), 10_000);
    await chart.screenshot({ path: path.join(OUT, 'chart.png') });
    say(`wrote ${path.join(OUT, 'chart.png')}`);
  } finally {
    await browser.close();
    await home.stop();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`screenshots: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
