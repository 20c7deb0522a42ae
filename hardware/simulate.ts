/**
 * `npm run simulate -- --dht11 3 --garage 1 --serial /dev/pts/7`: a demo home against a
 * running ninho, every device speaking exactly its firmware's protocol.
 *
 * Keys while it runs (garage 1): a = a car arrives, l = it leaves, o = toggle obstruction,
 * q = quit. `--car-every 60` scripts an arrival and a departure every minute instead.
 */
import { Command, InvalidArgumentError } from 'commander';
import { Dht11Simulator } from './esp8266-dht11/simulator';
import { GarageSimulator } from './garage-door/simulator';
import { SerialSensorSimulator } from './serial-sensor/simulator';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new InvalidArgumentError('a whole number from 0 to 1000');
  return n;
}

interface Options {
  url: string;
  dht11: number;
  garage: number;
  serial?: string;
  interval: number;
  travel: number;
  carEvery?: number;
}

function say(line: string): void {
  process.stdout.write(`simulate: ${line}\n`);
}

async function main(): Promise<void> {
  const options = new Command('simulate')
    .description('a demo home of simulated devices against a running ninho')
    .option('--url <url>', 'the MQTT broker (ninho)', process.env['NINHO_MQTT_URL'] ?? 'mqtt://127.0.0.1:1883')
    .option('--dht11 <n>', 'ESP8266 + DHT11 sensors (dht-1, dht-2…)', count, 0)
    .option('--garage <n>', 'garage-door controllers (garage-1…); the second and later are gates', count, 0)
    .option('--serial <path>', 'a serial sensor (bench-1) writing to this serial line, e.g. one end of a socat pty pair')
    .option('--interval <seconds>', 'seconds between sensor readings', count, 10)
    .option('--travel <seconds>', 'door travel time, end stop to end stop', count, 12)
    .option('--car-every <seconds>', 'script a car arriving and leaving garage-1 this often', count)
    .parse()
    .opts<Options>();

  const stops: Array<() => Promise<void>> = [];
  for (let i = 1; i <= options.dht11; i++) {
    const sensor = await Dht11Simulator.start(options.url, `dht-${i}`, options.interval * 1000);
    stops.push(() => sensor.stop());
    say(`dht-${i} reporting every ${options.interval} s on tele/dht-${i}/SENSOR`);
  }
  const garages: GarageSimulator[] = [];
  for (let i = 1; i <= options.garage; i++) {
    const id = i === 1 ? 'garage-1' : `gate-${i - 1}`;
    const garage = await GarageSimulator.start({
      url: options.url,
      id,
      travelMs: options.travel * 1000,
      deviceClass: i === 1 ? 'garage' : 'gate',
      name: i === 1 ? 'Garage' : `Gate ${i - 1}`,
    });
    garages.push(garage);
    stops.push(() => garage.stop());
    say(`${id} ready (door closed, spot free) on garage/${id}/…`);
  }
  if (options.serial) {
    const serial = await SerialSensorSimulator.start(options.serial, 'bench-1', options.interval * 1000);
    stops.push(() => serial.stop());
    say(`bench-1 writing readings to ${options.serial}`);
  }

  const first = garages[0];
  let parked = false;
  const car = async (): Promise<void> => {
    if (!first) return;
    parked = !parked;
    say(parked ? 'a car arrives at garage-1' : 'the car leaves garage-1');
    await (parked ? first.carArrives() : first.carLeaves());
  };
  const timer = options.carEvery ? setInterval(() => void car(), options.carEvery * 1000) : undefined;

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    say('stopping');
    await Promise.allSettled(stops.map((s) => s()));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  if (process.stdin.isTTY && first) {
    let obstructed = false;
    say('keys: a = car arrives, l = car leaves, o = obstruction, q = quit');
    process.stdin.setRawMode(true);
    process.stdin.on('data', (key: Buffer) => {
      const k = key.toString();
      if (k === 'a' && !parked) void car();
      else if (k === 'l' && parked) void car();
      else if (k === 'o') first.setObstructed((obstructed = !obstructed));
      else if (k === 'q' || k === '\u0003') void stop();
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`simulate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
