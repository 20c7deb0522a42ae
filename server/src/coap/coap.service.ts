import dgram from 'node:dgram';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CommandError, type CommandValue } from '@ninho/plugin-sdk';
import { createServer, type IncomingMessage, type OutgoingMessage, type Server } from 'coap';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { formatIssues } from '../config/config.loader';
import { NotFoundError, ReadOnlyEntityError } from '../devices/device.errors';
import { DeviceService } from '../devices/device.service';
import { entityId } from '../devices/device.types';
import { EventBus } from '../events/event-bus';
import { ListenError } from '../listen';
import { inferEntity, TelemetrySchema } from './coap-telemetry';
import { deviceSummary, entityState } from '../devices/device.view';

const JSON_FORMAT = 'application/json';
const TEXT_FORMAT = 'text/plain';
/** Past this, node-coap sends an empty ACK and the result follows as a separate response. */
const PIGGYBACK_MS = 50;

type Route =
  | { kind: 'devices' }
  | { kind: 'device'; deviceId: string }
  | { kind: 'entity'; deviceId: string; key: string }
  | { kind: 'hook'; path: string };

function route(url: string): Route | undefined {
  const parts = url.split('?')[0]?.split('/').filter(Boolean).map(decodeURIComponent) ?? [];
  if (parts[0] === 'hooks' && parts.length > 1) return { kind: 'hook', path: parts.slice(1).join('/') };
  if (parts[0] !== 'devices') return undefined;
  if (parts.length === 1) return { kind: 'devices' };
  if (parts.length === 2 && parts[1]) return { kind: 'device', deviceId: parts[1] };
  if (parts.length === 3 && parts[1] && parts[2]) return { kind: 'entity', deviceId: parts[1], key: parts[2] };
  return undefined;
}

function contentFormat(req: IncomingMessage): string | undefined {
  const value = req.headers['Content-Format'];
  return value === undefined ? undefined : String(value);
}

class CoapError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch (error) {
    throw new CoapError('4.00', `body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The embedded CoAP endpoint (RFC 7252 over UDP):
 *   GET  /devices                      device list (application/json)
 *   GET  /devices/<id>/<key>           entity state; with Observe, a notification per change
 *   PUT  /devices/<id>/<key>           command, as JSON {"command":…} or plain text
 *   POST /devices/<id>                 telemetry from a constrained device, {"temperature":21.5}
 * No DTLS: node-coap has none (coap#253).
 */
@Injectable()
export class CoapService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('CoAP');
  private server: Server | undefined;
  private socket: dgram.Socket | undefined;
  private boundPort = 0;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly devices: DeviceService,
    private readonly events: EventBus,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  async onModuleInit(): Promise<void> {
    // Our own socket without SO_REUSEADDR (node-coap sets it), so a busy port is an error.
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    this.boundPort = await new Promise<number>((resolve, reject) => {
      socket.once('error', (error: NodeJS.ErrnoException) => reject(new ListenError('CoAP', this.config.coap.port, error.code)));
      socket.bind(this.config.coap.port, this.config.host, () => resolve(socket.address().port));
    });
    socket.on('error', (error) => this.logger.error(`socket error: ${error.message}`));
    this.socket = socket;
    const server = createServer({ piggybackReplyMs: PIGGYBACK_MS });
    server.on('request', (req: IncomingMessage, res: OutgoingMessage) => {
      this.handle(req, res).catch((error: unknown) => this.fail(res, error));
    });
    server.on('error', (error: Error) => this.logger.warn(`request error: ${error.message}`));
    await new Promise<void>((resolve) => server.listen(socket, () => resolve()));
    this.server = server;
    this.logger.log(`CoAP listening on udp port ${this.boundPort}`);
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: OutgoingMessage): Promise<void> {
    const target = route(req.url);
    if (!target) throw new CoapError('4.04', `no resource at ${req.url}`);
    const method = req.method;
    switch (target.kind) {
      case 'devices':
        if (method !== 'GET') throw new CoapError('4.05', `${method} not allowed on /devices`);
        return this.reply(res, '2.05', this.devices.list().map(deviceSummary));
      case 'device':
        if (method === 'GET') return this.reply(res, '2.05', deviceSummary(this.devices.get(target.deviceId)));
        if (method === 'POST') return this.telemetry(req, res, target.deviceId);
        throw new CoapError('4.05', `${method} not allowed on a device`);
      case 'hook':
        // Rules listen for these (a CoAP trigger); the device only learns that ninho got it.
        this.events.emit('coap.hook', { path: target.path, method, payload: req.payload.toString('utf8') });
        res.code = method === 'GET' ? '2.05' : '2.04';
        res.end();
        return;
      case 'entity': {
        const id = entityId(target.deviceId, target.key);
        if (method === 'GET') return this.read(req, res, id);
        if (method === 'PUT') return this.command(req, res, id);
        throw new CoapError('4.05', `${method} not allowed on an entity`);
      }
    }
  }

  private read(req: IncomingMessage, res: OutgoingMessage, id: string): void {
    const entity = this.devices.getEntity(id);
    if (req.headers['Observe'] !== 0) return this.reply(res, '2.05', entityState(entity));
    res.code = '2.05';
    res.setOption('Content-Format', JSON_FORMAT);
    res.write(JSON.stringify(entityState(entity)));
    const stop = this.events.on('entity.state', `coap-observe ${id}`, (event) => {
      if (event.entityId === id) res.write(JSON.stringify(entityState(this.devices.getEntity(id))));
    });
    // The client cancels (RST or GET with Observe=1) or stops acknowledging.
    res.once('finish', stop);
    res.once('close', stop);
    res.once('error', stop);
  }

  private async command(req: IncomingMessage, res: OutgoingMessage, id: string): Promise<void> {
    this.devices.getEntity(id);
    const format = contentFormat(req);
    let command: CommandValue;
    if (format === JSON_FORMAT) {
      const body = parseJson(req.payload);
      const value = typeof body === 'object' && body !== null && 'command' in body ? body.command : body;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new CoapError('4.00', 'expected {"command": <string|number|boolean>}');
      }
      command = value;
    } else if (format === TEXT_FORMAT || format === undefined) {
      command = req.payload.toString('utf8').trim();
      if (command === '') throw new CoapError('4.00', 'empty command');
    } else {
      throw new CoapError('4.15', `content-format ${format} not supported; use application/json or text/plain`);
    }
    await this.devices.command(id, command);
    res.code = '2.04';
    res.end();
  }

  private async telemetry(req: IncomingMessage, res: OutgoingMessage, deviceId: string): Promise<void> {
    const format = contentFormat(req);
    if (format !== undefined && format !== JSON_FORMAT)
      throw new CoapError('4.15', `content-format ${format} not supported; use application/json`);
    const parsed = TelemetrySchema.safeParse(parseJson(req.payload));
    if (!parsed.success) throw new CoapError('4.00', formatIssues(parsed.error.issues).join('; '));
    const states = parsed.data;
    const known = this.devices.find(deviceId);
    const missing = Object.entries(states).filter(([key]) => !known?.entities.has(key));
    if (!known || missing.length > 0) {
      await this.devices.register(known?.pluginId ?? 'core', {
        id: deviceId,
        name: known?.name ?? deviceId,
        transport: 'coap',
        entities: missing.map(([key, value]) => inferEntity(key, value)),
      });
    }
    this.devices.report(deviceId, states);
    res.code = known ? '2.04' : '2.01';
    res.end();
  }

  private reply(res: OutgoingMessage, code: string, body: unknown): void {
    res.code = code;
    res.setOption('Content-Format', JSON_FORMAT);
    res.end(JSON.stringify(body));
  }

  private fail(res: OutgoingMessage, error: unknown): void {
    const [code, message] =
      error instanceof CoapError
        ? [error.code, error.message]
        : error instanceof NotFoundError
          ? ['4.04', error.message]
          : error instanceof ReadOnlyEntityError
            ? ['4.05', error.message]
            : error instanceof CommandError
              ? [commandErrorCode(error), error.message]
              : ['5.00', 'internal error'];
    if (code === '5.00') this.logger.error(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    res.code = code;
    res.setOption('Content-Format', TEXT_FORMAT);
    res.end(message);
  }
}

function commandErrorCode(error: CommandError): string {
  switch (error.reason) {
    case 'offline':
      return '5.03';
    case 'timeout':
      return '5.04';
    case 'rejected':
      return '4.00';
    case 'unsupported':
      return '4.05';
    case 'failed':
      return '5.02';
  }
}
