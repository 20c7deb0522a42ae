import mqtt, { type MqttClient } from 'mqtt';

/**
 * An ESP8266 + DHT11 as the sketch beside this file (and stock Tasmota) speaks it:
 * tele/<topic>/SENSOR every interval, tele/<topic>/LWT Online / Offline (last will).
 */
export class Dht11Simulator {
  private timer: NodeJS.Timeout | undefined;
  private temperature = 18 + Math.random() * 6;
  private humidity = 35 + Math.random() * 20;

  private constructor(
    private readonly client: MqttClient,
    readonly topic: string,
  ) {}

  static async start(url: string, topic: string, intervalMs = 10_000): Promise<Dht11Simulator> {
    const client = await mqtt.connectAsync(url, {
      clientId: topic,
      will: { topic: `tele/${topic}/LWT`, payload: Buffer.from('Offline'), qos: 1, retain: true },
    });
    const simulator = new Dht11Simulator(client, topic);
    client.on('connect', () => void client.publishAsync(`tele/${topic}/LWT`, 'Online', { qos: 1, retain: true }).catch(() => undefined));
    await client.publishAsync(`tele/${topic}/LWT`, 'Online', { qos: 1, retain: true });
    await simulator.report();
    simulator.timer = setInterval(() => void simulator.report().catch(() => undefined), intervalMs);
    return simulator;
  }

  /** A slow random walk, at the DHT11's resolution (1 °C, 1 %; Tasmota prints one decimal). */
  async report(): Promise<void> {
    this.temperature = Math.min(40, Math.max(0, this.temperature + (Math.random() - 0.5)));
    this.humidity = Math.min(90, Math.max(20, this.humidity + (Math.random() - 0.5) * 2));
    const payload = { DHT11: { Temperature: Math.round(this.temperature * 10) / 10, Humidity: Math.round(this.humidity) }, TempUnit: 'C' };
    await this.client.publishAsync(`tele/${this.topic}/SENSOR`, JSON.stringify(payload), { qos: 0 });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client.publishAsync(`tele/${this.topic}/LWT`, 'Offline', { qos: 1, retain: true });
    await this.client.endAsync();
  }
}
