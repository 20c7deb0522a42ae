import mqtt, { type MqttClient } from 'mqtt';

/**
 * A garage-door or gate controller speaking exactly what the firmware in this folder
 * speaks (plugins/garage-door documents the topics): the door travels for travelMs
 * between its reed end stops, and the parking spot reports occupancy and motion.
 */
export type SimulatedDoorState = 'open' | 'closed' | 'opening' | 'closing' | 'stopped';

export interface GarageSimulatorOptions {
  url: string;
  id: string;
  /** Time from one end stop to the other; a real opener takes 10–20 s. */
  travelMs?: number;
  deviceClass?: 'garage' | 'gate';
  name?: string;
}

export class GarageSimulator {
  state: SimulatedDoorState = 'closed';
  /** Every command payload received on garage/<id>/set, in order. */
  readonly received: string[] = [];
  /** While true the end stops stay silent, as with a jammed door or a broken reed switch. */
  jammed = false;
  private travel: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: Required<Omit<GarageSimulatorOptions, 'name'>> & { name?: string },
  ) {}

  static async start(options: GarageSimulatorOptions): Promise<GarageSimulator> {
    const topic = (leaf: string): string => `garage/${options.id}/${leaf}`;
    const client = await mqtt.connectAsync(options.url, {
      clientId: `garage-sim-${options.id}`,
      will: { topic: topic('availability'), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    const simulator = new GarageSimulator(client, { travelMs: 15_000, deviceClass: 'garage', ...options });
    client.on('message', (_topic, payload) => simulator.onCommand(payload.toString()));
    // Like the firmware: back online after every reconnect (the broker may have sent the will).
    client.on('connect', () => simulator.publish('availability', 'online', true));
    await client.subscribeAsync(topic('set'), { qos: 1 });
    const info = { deviceClass: simulator.options.deviceClass, ...(options.name ? { name: options.name } : {}) };
    await client.publishAsync(topic('info'), JSON.stringify(info), { qos: 1, retain: true });
    await client.publishAsync(topic('availability'), 'online', { qos: 1, retain: true });
    await client.publishAsync(topic('state'), simulator.state, { qos: 1, retain: true });
    await client.publishAsync(topic('occupancy'), 'free', { qos: 1 });
    await client.publishAsync(topic('motion'), 'off', { qos: 1 });
    return simulator;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  private publish(leaf: string, payload: string, retain = false): void {
    void this.client.publishAsync(`garage/${this.options.id}/${leaf}`, payload, { qos: 1, retain }).catch(() => undefined);
  }

  private setState(state: SimulatedDoorState): void {
    this.state = state;
    this.publish('state', state, true);
  }

  private move(moving: 'opening' | 'closing', end: 'open' | 'closed'): void {
    clearTimeout(this.travel);
    this.setState(moving);
    this.travel = setTimeout(() => {
      if (!this.jammed) this.setState(end);
    }, this.options.travelMs);
  }

  private onCommand(command: string): void {
    this.received.push(command);
    const moving = this.state === 'opening' || this.state === 'closing';
    switch (command) {
      case 'OPEN':
        if (this.state !== 'open' && this.state !== 'opening') this.move('opening', 'open');
        return;
      case 'CLOSE':
        if (this.state !== 'closed' && this.state !== 'closing') this.move('closing', 'closed');
        return;
      case 'STOP':
        if (moving) {
          clearTimeout(this.travel);
          this.setState('stopped');
        }
        return;
      default:
        return;
    }
  }

  /** A car pulls into the spot: motion, the spot taken, then stillness. */
  async carArrives(settleMs = 1000): Promise<void> {
    this.publish('motion', 'on');
    this.publish('occupancy', 'occupied');
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    this.publish('motion', 'off');
  }

  async carLeaves(settleMs = 1000): Promise<void> {
    this.publish('motion', 'on');
    this.publish('occupancy', 'free');
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    this.publish('motion', 'off');
  }

  /** Something moves in front of the PIR, or stops moving. */
  setMotion(moving: boolean): void {
    this.publish('motion', moving ? 'on' : 'off');
  }

  setObstructed(obstructed: boolean): void {
    this.publish('obstructed', obstructed ? 'on' : 'off');
  }

  /** Loses power: no DISCONNECT, so the broker publishes the last will. */
  crash(): void {
    clearTimeout(this.travel);
    this.client.options.reconnectPeriod = 0; // stays dead
    this.client.stream.destroy();
  }

  async stop(): Promise<void> {
    clearTimeout(this.travel);
    if (!this.client.connected) return void (await this.client.endAsync(true));
    await this.client.publishAsync(`garage/${this.options.id}/availability`, 'offline', { qos: 1, retain: true });
    await this.client.endAsync();
  }
}
