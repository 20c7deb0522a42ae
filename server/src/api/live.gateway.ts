import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { WebSocket, WebSocketServer } from 'ws';
import { DeviceService } from '../devices/device.service';
import { deviceSummary } from '../devices/device.view';
import { EventBus } from '../events/event-bus';

/** A client this far behind is disconnected rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * `/api/live`: on connect a `snapshot` of every device, then `state` and
 * `availability` messages as they happen, so a reconnecting dashboard catches up.
 */
@Injectable()
export class LiveGateway implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Live');
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly events: EventBus,
    private readonly devices: DeviceService,
  ) {}

  onModuleInit(): void {
    this.wss.on('connection', (ws) => {
      ws.on('error', (error) => this.logger.debug(`live client error: ${error.message}`));
      ws.send(JSON.stringify({ type: 'snapshot', devices: this.devices.list().map(deviceSummary) }));
    });
    this.unsubscribe.push(
      this.events.on('entity.state', 'live-gateway', ({ entityId, deviceId, state, at }) =>
        this.broadcast(() => ({ type: 'state', entityId, deviceId, state, at: at.toISOString() })),
      ),
      this.events.on('device.availability', 'live-gateway', ({ deviceId, online, at }) =>
        this.broadcast(() => ({ type: 'availability', deviceId, online, at: at.toISOString() })),
      ),
      this.events.on('device.registered', 'live-gateway', ({ deviceId }) =>
        this.broadcast(() => ({ type: 'device', device: deviceSummary(this.devices.get(deviceId)) })),
      ),
      this.events.on('device.removed', 'live-gateway', ({ deviceId }) => this.broadcast(() => ({ type: 'device-removed', deviceId }))),
      this.events.on('plugin.progress', 'live-gateway', (progress) => this.broadcast(() => ({ type: 'plugin-progress', ...progress }))),
    );
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, request));
  }

  /** Builds the message only when someone listens: states arrive tens of thousands a second. */
  private broadcast(message: () => object): void {
    if (this.wss.clients.size === 0) return;
    const text = JSON.stringify(message());
    for (const client of this.wss.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      if (client.bufferedAmount > MAX_BUFFERED_BYTES) {
        client.terminate();
        continue;
      }
      client.send(text);
    }
  }

  onModuleDestroy(): void {
    for (const stop of this.unsubscribe) stop();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}
