/**
 * The MQTT load generator of `npm run bench`, always run as its own process so the
 * broker under test never shares an event loop with its load. Prints one JSON line.
 *
 *   throughput <url> <qos> <messages> <window>
 *       one publisher, one subscriber on the same topic; at most <window> messages
 *       are published and not yet both delivered and acknowledged, so every broker
 *       sees the same closed loop. aedes drops a connection with more than
 *       maxInflightInbound (1000) QoS 2 messages awaiting PUBREL, so keep it below that.
 *   ingest <url> <devices> <messages> <window> <timesFile>
 *       <devices> connections, one a device, publish DHT11 readings on
 *       tele/bench-<n>/SENSOR at QoS 1, at most <window> awaiting PUBACK in all;
 *       writes the publish time of each message to <timesFile> for the latency figures.
 *   rules <url> <rules> <rate> <seconds>
 *       publishes to bench/in/<i> (i cycling through <rules>) at <rate> messages a second
 *       for <seconds>, or as fast as 500 in flight allow when <rate> is 0, and times each
 *       one until the rule's answer on bench/out/<i>. Prints throughput and latencies.
 *   idle <url> <clients>
 *       connects <clients> idle clients, prints once all are up, and holds them until killed.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';

type QoS = 0 | 1 | 2;

function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 30_000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

function print(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function throughput(url: string, qos: QoS, messages: number, window: number): Promise<void> {
  const topic = `bench/${process.pid}`;
  const subscriber = await connect(url, { clientId: `bench-sub-${process.pid}` });
  await subscriber.subscribeAsync(topic, { qos });
  const publisher = await connect(url, { clientId: `bench-pub-${process.pid}` });
  const filler = 'x'.repeat(52);
  const seen = new Uint8Array(messages);
  let sent = 0;
  let received = 0;
  /** Acknowledged to the publisher (PUBACK, PUBCOMP) or, at QoS 0, written to the socket. */
  let completed = 0;
  let duplicates = 0;
  const started = performance.now();

  await new Promise<void>((resolve, reject) => {
    let lastProgress = { received: -1, at: Date.now() };
    const watchdog = setInterval(() => {
      if (received !== lastProgress.received) lastProgress = { received, at: Date.now() };
      else if (Date.now() - lastProgress.at > 15_000) {
        clearInterval(watchdog);
        reject(new Error(`QoS ${qos}: stalled at ${received} of ${messages} delivered (${sent} published, ${duplicates} duplicates)`));
      }
    }, 1000);
    const pump = (): void => {
      while (sent < messages && sent - Math.min(received, completed) < window) {
        // Counted before publish(): its callback may run synchronously and pump again.
        const seq = sent++;
        publisher.publish(topic, `${String(seq).padStart(10, '0')}:${filler}`, { qos }, (error) => {
          if (error) return reject(error);
          completed += 1;
          if (sent - Math.min(received, completed) <= window / 2) pump();
        });
      }
    };
    subscriber.on('message', (_topic, payload) => {
      const seq = Number(payload.subarray(0, 10).toString());
      if (seen[seq]) duplicates += 1;
      else {
        seen[seq] = 1;
        received += 1;
      }
      if (received === messages) {
        clearInterval(watchdog);
        resolve();
      } else if (sent - Math.min(received, completed) <= window / 2) pump();
    });
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  print({ messages, received, duplicates, seconds, perSecond: Math.round(received / seconds) });
  await Promise.all([publisher.endAsync(), subscriber.endAsync()]);
}

/** One device's MQTT connection, spoken raw: encoding PUBLISH packets costs a tenth of mqtt.js. */
class RawDevice {
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private nextId = 1;
  onAck: () => void = () => undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => this.parser.parse(chunk));
  }

  static async connect(host: string, port: number, clientId: string): Promise<RawDevice> {
    const socket = net.connect({ host, port, noDelay: true });
    await once(socket, 'connect');
    const device = new RawDevice(socket);
    const connack = new Promise<void>((resolve, reject) => {
      device.parser.once('packet', (packet: mqttPacket.Packet) =>
        packet.cmd === 'connack' && packet.returnCode === 0 ? resolve() : reject(new Error(`${clientId}: refused`)),
      );
    });
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 }));
    await connack;
    device.parser.on('packet', (packet: mqttPacket.Packet) => {
      if (packet.cmd === 'puback') device.onAck();
    });
    return device;
  }

  publishQos1(topic: string, payload: string): void {
    const messageId = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    this.socket.write(mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false }));
  }

  close(): void {
    this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  }
}

async function ingest(url: string, devices: number, messages: number, window: number, timesFile: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const connections: RawDevice[] = [];
  for (let i = 0; i < devices; i++) connections.push(await RawDevice.connect(hostname, Number(port), `bench-${i}`));
  const payloads = Array.from({ length: 400 }, (_, n) => {
    const temperature = 15 + (n % 200) / 10;
    const humidity = 30 + n / 10;
    return `{"DHT11":{"Temperature":${temperature},"Humidity":${humidity}},"TempUnit":"C"}`;
  });
  const publishedAt = new Float64Array(messages);
  let sent = 0;
  let acked = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (sent < messages && sent - acked < window) {
        const n = sent++;
        publishedAt[n] = performance.timeOrigin + performance.now();
        connections[n % devices]?.publishQos1(`tele/bench-${n % devices}/SENSOR`, payloads[n % payloads.length] ?? '');
      }
    };
    for (const connection of connections) {
      connection.onAck = () => {
        acked += 1;
        if (acked === messages) resolve();
        else if (sent - acked <= window / 2) pump();
      };
    }
    pump();
  });
  fs.writeFileSync(timesFile, Buffer.from(publishedAt.buffer));
  print({ messages, seconds: (Date.now() - started) / 1000 });
  for (const connection of connections) connection.close();
}

async function idle(url: string, clients: number): Promise<void> {
  const connected: MqttClient[] = [];
  for (let i = 0; i < clients; i += 50) {
    const batch = Array.from({ length: Math.min(50, clients - i) }, (_, j) =>
      connect(url, { clientId: `bench-idle-${process.pid}-${i + j}`, keepalive: 300 }),
    );
    connected.push(...(await Promise.all(batch)));
  }
  print({ clients: connected.length });
  // Held open until the bench kills this process.
  setInterval(() => undefined, 60_000);
}

async function rules(url: string, count: number, rate: number, seconds: number): Promise<void> {
  const subscriber = await connect(url, { clientId: `bench-rules-sub-${process.pid}` });
  await subscriber.subscribeAsync('bench/out/+', { qos: 0 });
  const publisher = await connect(url, { clientId: `bench-rules-pub-${process.pid}` });
  const total = rate === 0 ? seconds : rate * seconds;
  // Each rule answers once per event, in order, so each topic's answers match its sends first in, first out.
  const sentAt = Array.from({ length: count }, () => [] as number[]);
  const latencies = new Float64Array(total);
  let sent = 0;
  let received = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const watchdog = setTimeout(
      () => reject(new Error(`rules: ${received} of ${total} answers after ${seconds + 30} s`)),
      (seconds + 30) * 1000,
    );
    subscriber.on('message', (topic) => {
      const index = Number(topic.slice('bench/out/'.length));
      const at = sentAt[index]?.shift();
      if (at === undefined) return;
      latencies[received++] = performance.now() - at;
      if (received === total) {
        clearTimeout(watchdog);
        resolve();
      } else if (rate === 0) pump();
    });
    const send = (): void => {
      const index = sent % count;
      sentAt[index]?.push(performance.now());
      sent++;
      publisher.publish(`bench/in/${index}`, 'x', { qos: 0 });
    };
    const pump = (): void => {
      while (sent < total && sent - received < 500) send();
    };
    if (rate === 0) {
      pump();
      return;
    }
    // Paced: every millisecond tick sends what the rate owes by then.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      while (sent < due) send();
      if (sent >= total) clearInterval(timer);
    }, 1);
  });
  const elapsed = (performance.now() - started) / 1000;
  const sorted = latencies.sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  print({ events: total, seconds: elapsed, perSecond: total / elapsed, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 });
  await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
}

async function main(): Promise<void> {
  const [mode, url, ...args] = process.argv.slice(2);
  const numbers = args.map(Number);
  if (!url) throw new Error('usage: mqtt-load <throughput|ingest|idle> <url> …');
  switch (mode) {
    case 'throughput':
      return throughput(url, numbers[0] as QoS, numbers[1] ?? 20_000, numbers[2] ?? 1000);
    case 'ingest':
      return ingest(url, numbers[0] ?? 100, numbers[1] ?? 50_000, numbers[2] ?? 500, args[3] ?? 'publish-times.bin');
    case 'rules':
      return rules(url, numbers[0] ?? 1000, numbers[1] ?? 1000, numbers[2] ?? 10);
    case 'idle':
      return idle(url, numbers[0] ?? 1000);
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`mqtt-load: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
