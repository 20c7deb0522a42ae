import { request, type IncomingMessage } from 'coap';

export type CoapMethod = NonNullable<Extract<Parameters<typeof request>[0], { method?: unknown }>['method']>;

export interface CoapReply {
  code: string;
  body: string;
  format: unknown;
}

/** One CoAP request to the server on 127.0.0.1:port, with the npm `coap` client. */
export function coapRequest(
  port: number,
  method: CoapMethod,
  pathname: string,
  options: { body?: string; format?: string; confirmable?: boolean } = {},
): Promise<CoapReply> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: '127.0.0.1', port, pathname, method, confirmable: options.confirmable ?? true });
    if (options.format) req.setOption('Content-Format', options.format);
    req.on('response', (res: IncomingMessage) =>
      resolve({ code: res.code, body: res.payload.toString(), format: res.headers['Content-Format'] }),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An Observe of an entity: the states notified so far, and a way to cancel. */
export interface EntityObservation {
  states: unknown[];
  close(): void;
}

export async function observeEntity(port: number, pathname: string): Promise<EntityObservation> {
  const req = request({ hostname: '127.0.0.1', port, pathname, observe: true });
  const stream = await new Promise<IncomingMessage>((resolve) => {
    req.on('response', resolve);
    req.end();
  });
  const states: unknown[] = [];
  stream.on('data', (chunk: Buffer) => states.push((JSON.parse(chunk.toString()) as { state: unknown }).state));
  return { states, close: () => (stream as IncomingMessage & { close(): void }).close() };
}
