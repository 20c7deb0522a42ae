import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { BrokerService } from '../broker/broker.service';
import { LiveGateway } from './live.gateway';

/** Routes WebSocket upgrades on the HTTP port: /mqtt to the broker, /api/live to the live gateway. */
@Injectable()
export class WebSocketRouter implements OnApplicationBootstrap {
  // ws picks the client's first offered subprotocol, which is "mqtt" for MQTT clients.
  private readonly mqttWss = new WebSocketServer({ noServer: true });

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly broker: BrokerService,
    private readonly live: LiveGateway,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (pathname === '/mqtt') {
        this.mqttWss.handleUpgrade(request, socket, head, (ws) => this.broker.handleWebSocket(createWebSocketStream(ws), request));
      } else if (pathname === '/api/live') {
        this.live.handleUpgrade(request, socket, head);
      } else {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      }
    });
  }
}
