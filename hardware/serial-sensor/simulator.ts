import { ReadlineParser, SerialPort } from 'serialport';

/**
 * The Arduino serial sensor as its sketch speaks, on a serial line (for a demo, one end of
 * a socat pseudo-terminal pair whose other end ninho opens):
 *   {"id":"bench-1","temperature":22.5,"humidity":41,"power":"OFF"} every interval
 *   {"id":"bench-1","cmd":"ON","entity":"power"} switches the relay, which is reported at once.
 */
export class SerialSensorSimulator {
  private timer: NodeJS.Timeout | undefined;
  private temperature = 21 + Math.random() * 3;
  private humidity = 40 + Math.random() * 10;
  private power: 'ON' | 'OFF' = 'OFF';

  private constructor(
    private readonly port: SerialPort,
    readonly id: string,
  ) {}

  static async start(path: string, id = 'bench-1', intervalMs = 10_000, baudRate = 115200): Promise<SerialSensorSimulator> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    const simulator = new SerialSensorSimulator(port, id);
    port.pipe(new ReadlineParser({ delimiter: '\n' })).on('data', (line: string) => simulator.onLine(line));
    simulator.report();
    simulator.timer = setInterval(() => simulator.report(), intervalMs);
    return simulator;
  }

  private onLine(line: string): void {
    try {
      const { id, cmd } = JSON.parse(line) as { id?: string; cmd?: string };
      if (id !== this.id || (cmd !== 'ON' && cmd !== 'OFF')) return;
      this.power = cmd;
      this.report();
    } catch {
      // Like the sketch: a line it cannot read is ignored.
    }
  }

  report(): void {
    this.temperature += (Math.random() - 0.5) * 0.4;
    this.humidity += Math.random() - 0.5;
    const reading = {
      id: this.id,
      temperature: Math.round(this.temperature * 10) / 10,
      humidity: Math.round(this.humidity),
      power: this.power,
    };
    this.port.write(`${JSON.stringify(reading)}\n`);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
