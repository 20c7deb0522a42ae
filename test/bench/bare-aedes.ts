/**
 * The peer of `npm run bench`: aedes 1.2 standing alone with its default in-memory
 * persistence and nothing else, on the same noDelay TCP listener ninho uses.
 * Prints "port=<n>" once it listens on an ephemeral port.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

async function main(): Promise<void> {
  // A clean exit, so that `node --cpu-prof` can write its profile.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
  const broker = await Aedes.createBroker();
  const server = net.createServer({ noDelay: true }, (socket) => broker.handle(socket));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    process.stdout.write(`port=${address.port}\n`);
  });
}

void main();
