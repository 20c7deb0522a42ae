import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { MqttMessage, PublishOptions } from '@ninho/plugin-sdk';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import { ClassicLevel } from 'classic-level';
import { BrokerAuthService } from '../auth/broker-auth.service';
import { ConfigError } from '../config/config.loader';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { listen } from '../listen';
import { StartupError } from '../startup-error';
import { SessionAwarePersistence } from './session-aware-persistence';

type Deliver = (packet: AedesPublishPacket, callback: () => void) => void;

/** Carries a CONNACK return code through aedes' authenticate callback. */
class ConnectRefused extends Error {
  constructor(
    message: string,
    readonly returnCode: number,
  ) {
    super(message);
  }
}

/**
 * The embedded aedes broker: TCP on mqtt.port, and MQTT over WebSocket through
 * handleWebSocket(). Sessions, QoS 1/2 queues, retained messages and wills live in a
 * LevelDB under <dataDir>/mqtt (aedes-persistence-level), so they survive restarts;
 * clean sessions' QoS 2 receive state stays in memory (SessionAwarePersistence).
 */
@Injectable()
export class BrokerService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Broker');
  private broker: Aedes | undefined;
  private db: ClassicLevel<string, Buffer> | undefined;
  private persistence: SessionAwarePersistence | undefined;
  private readonly tcpServer = net.createServer({ noDelay: true });
  /** Clients that sent a zero-length client id with clean session = 0. */
  private readonly emptyIdPersistent = new WeakSet<Client>();
  private tlsServer: tls.Server | undefined;
  private boundPort = 0;
  private boundTlsPort: number | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly auth: BrokerAuthService,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  /** The mqtts:// port, when TLS is configured. */
  get tlsPort(): number | undefined {
    return this.boundTlsPort;
  }

  get connectedClients(): number {
    return this.broker?.connectedClients ?? 0;
  }

  private get aedes(): Aedes {
    if (!this.broker) throw new Error('broker not started');
    return this.broker;
  }

  async onModuleInit(): Promise<void> {
    const dir = path.join(this.config.dataDir, 'mqtt');
    fs.mkdirSync(dir, { recursive: true });
    this.db = new ClassicLevel<string, Buffer>(dir);
    await this.db.open().catch((error: unknown) => {
      // LevelDB takes a lock file; SQLite alone would let two servers share the data.
      if ((error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw new StartupError(`data directory ${this.config.dataDir} is in use by another ninho process`);
      }
      throw error;
    });
    const { mqtt } = this.config;
    const persistence = new SessionAwarePersistence(this.db);
    this.persistence = persistence;
    this.broker = await Aedes.createBroker({
      persistence,
      drainTimeout: mqtt.drainTimeoutMs,
      maxInflightInbound: mqtt.maxInflightInbound,
      maxTopicLevels: mqtt.maxTopicLevels,
      queueLimit: mqtt.queueLimit,
      preConnect: (client, packet, callback) => {
        // aedes 1.2 accepts this (aedes#1095); [MQTT-3.1.3-8] requires CONNACK 0x02.
        if (packet.clientId === '' && packet.clean === false) this.emptyIdPersistent.add(client);
        callback(null, true);
      },
      authenticate: (client, username, password, done) => {
        if (this.emptyIdPersistent.has(client)) {
          done(new ConnectRefused('a zero-length client id requires clean session = 1', 2), false);
          return;
        }
        const decision = this.auth.authenticateConnect({ id: client.id, username }, password);
        if (decision.allowed) done(null, true);
        else done(new ConnectRefused(decision.reason ?? 'not authorized', decision.returnCode ?? 5), false);
      },
      authorizePublish: (client, packet, callback) => {
        // [MQTT-4.7.2-1] clients may not publish to $-prefixed topics such as $SYS.
        if (packet.topic.startsWith('$')) {
          callback(new Error(`publishing to ${packet.topic} is reserved to the broker`));
          return;
        }
        if (client && !this.auth.mayPublish({ id: client.id, username: undefined }, packet.topic)) {
          callback(new Error(`not allowed to publish to ${packet.topic}`));
          return;
        }
        callback(null);
      },
      authorizeSubscribe: (client, subscription, callback) => {
        if (!this.auth.maySubscribe({ id: client.id, username: undefined }, subscription.topic)) {
          callback(new Error(`not allowed to subscribe to ${subscription.topic}`));
          return;
        }
        callback(null, subscription);
      },
    });
    this.broker.on('clientDisconnect', (client) => persistence.connectionClosed(client));
    this.broker.on('clientError', (client, error) => this.logger.warn(`client ${client.id}: ${error.message}`));
    this.broker.on('connectionError', (client, error) => this.logger.warn(`connection ${client.id ?? '(no id)'}: ${error.message}`));
    this.tcpServer.on('connection', (socket) => this.aedes.handle(socket));
    this.boundPort = await listen(this.tcpServer, 'MQTT', mqtt.port, this.config.host);
    this.logger.log(`MQTT listening on tcp port ${this.boundPort}`);
    if (mqtt.tls) {
      this.tlsServer = tls.createServer(readTlsFiles(mqtt.tls));
      // Nagle on the TCP socket under TLS costs QoS 1 round trips as much as on plain TCP (DESIGN.md).
      this.tlsServer.on('secureConnection', (socket) => {
        socket.setNoDelay(true);
        this.aedes.handle(socket);
      });
      this.tlsServer.on('tlsClientError', (error) => this.logger.warn(`TLS handshake failed: ${error.message}`));
      this.boundTlsPort = await listen(this.tlsServer, 'MQTT TLS', mqtt.tls.port, this.config.host);
      this.logger.log(`MQTT listening on tls port ${this.boundTlsPort}`);
    }
  }

  /** Hands a WebSocket (as a duplex stream) to the broker, for ws://<host>:<http port>/mqtt. */
  handleWebSocket(stream: Duplex, request: IncomingMessage): void {
    this.aedes.handle(stream, request);
  }

  /**
   * Subscribes inside the broker, like a client would, with + and # wildcards. Messages to
   * $-topics ($SYS) only reach filters that name them, as [MQTT-4.7.2-1] has it for clients.
   */
  subscribe(filter: string, onMessage: (message: MqttMessage) => void, options: { retained: boolean } = { retained: true }): () => void {
    const systemFilter = filter.startsWith('$');
    const deliver: Deliver = (packet, callback) => {
      if (!systemFilter && packet.topic.startsWith('$')) {
        callback();
        return;
      }
      try {
        onMessage({
          topic: packet.topic,
          payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          retain: packet.retain,
        });
      } finally {
        callback();
      }
    };
    this.aedes.subscribe(filter, deliver, () => undefined);
    // As for a client's SUBSCRIBE, the matching retained messages follow: after a restart
    // that is how a plugin learns each device's last state, availability and config.
    let active = true;
    if (!options.retained) return () => this.broker?.unsubscribe(filter, deliver, () => undefined);
    this.persistence
      ?.createRetainedStream(filter)
      .on('data', (packet: AedesPublishPacket) => {
        if (active) deliver({ ...packet, retain: true }, () => undefined);
      })
      .on('error', (error: Error) => this.logger.warn(`retained messages for ${filter}: ${error.message}`));
    return () => {
      active = false;
      this.broker?.unsubscribe(filter, deliver, () => undefined);
    };
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: options.qos ?? 0,
          retain: options.retain ?? false,
          dup: false,
        },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  async onModuleDestroy(): Promise<void> {
    // Stop accepting first, but wait for the listeners only after the broker has
    // disconnected its clients: server.close() waits for every open connection.
    const listenersClosed = Promise.all(
      [this.tcpServer, this.tlsServer].map(
        (server) => new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve())),
      ),
    );
    if (this.broker) {
      const broker = this.broker;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
    await listenersClosed;
    await this.db?.close();
  }
}

/** Reads the PEM files up front so that a bad path or key stops the start with one line. */
function readTlsFiles(options: NonNullable<Config['mqtt']['tls']>): tls.TlsOptions {
  const read = (key: 'cert' | 'key' | 'ca', file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new ConfigError('mqtt.tls', [`${key}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
    }
  };
  const files = {
    cert: read('cert', options.cert),
    key: read('key', options.key),
    ...(options.ca !== undefined && { ca: read('ca', options.ca) }),
  };
  try {
    tls.createSecureContext(files);
  } catch (error) {
    throw new ConfigError('mqtt.tls', [`cert/key: ${(error as Error).message}`]);
  }
  return files;
}
