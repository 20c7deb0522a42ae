import type { Server } from 'node:net';
import { StartupError } from './startup-error';

/** A listener could not bind; main.ts prints one line and exits with code 1. */
export class ListenError extends StartupError {
  override name = 'ListenError';
  constructor(
    readonly service: string,
    readonly port: number,
    readonly code: string | undefined,
  ) {
    super(
      code === 'EADDRINUSE'
        ? `${service} port ${port} is already in use; stop the other program or choose another port`
        : `${service} could not listen on port ${port}${code ? ` (${code})` : ''}`,
    );
  }
}

/** Listens and resolves with the port actually bound (port 0 picks an ephemeral one). */
export function listen(server: Server, service: string, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new ListenError(service, port, error.code));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
