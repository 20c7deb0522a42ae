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
