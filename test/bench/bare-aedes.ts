/**
 * The peer of `npm run bench`: aedes 1.2 standing alone with its default in-memory
 * persistence and nothing else, on the same noDelay TCP listener ninho uses.
 * Prints "port=<n>" once it listens on an ephemeral port.
 *
 * With --relay it also answers every bench/in/<i> with bench/out/<i> from an in-process
 * subscription: the least any rules engine inside a broker could do, the rules bench's floor.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

async function main(): Promise<void> {
  // A clean exit, so that `node --cpu-prof` can write its profile.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
  const broker = await Aedes.createBroker();
  if (process.argv.includes('--relay')) {
    broker.subscribe(
      'bench/in/+',
      (packet, callback) => {
        broker.publish(
          {
            cmd: 'publish',
            topic: `bench/out/${packet.topic.slice('bench/in/'.length)}`,
            payload: Buffer.from('x'),
            qos: 0,
            retain: false,
            dup: false,
          },
          () => undefined,
        );
        callback();
      },
      () => undefined,
    );
  }
  const server = net.createServer({ noDelay: true }, (socket) => broker.handle(socket));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    process.stdout.write(`port=${address.port}\n`);
  });
}

void main();
