import type { Readable } from 'node:stream';
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import type { ClassicLevel } from 'classic-level';

/** What a persistence needs to know of an aedes client; `clean` is its clean-session flag. */
export interface SessionClient {
  id: string;
  clean?: boolean;
}

/** Packets are stored and handed back to aedes as they are. */
type Packet = object;

interface IncomingPacket {
  messageId?: number;
}

/** The promise API that aedes 1.x calls on a persistence (aedes-persistence 11). */
export interface AsyncPersistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: Packet): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: SessionClient, subscriptions: object[]): Promise<void>;
  removeSubscriptions(client: SessionClient, topics: string[]): Promise<void>;
  subscriptionsByClient(client: SessionClient): Promise<object[]>;
  countOffline(): Promise<object>;
  subscriptionsByTopic(pattern: string): Promise<object[]>;
  cleanSubscriptions(client: SessionClient): Promise<void>;
  outgoingEnqueue(subscription: { clientId: string }, packet: Packet): Promise<void>;
  outgoingEnqueueCombi(subscriptions: Array<{ clientId: string }>, packet: Packet): Promise<void>;
  outgoingUpdate(client: SessionClient, packet: Packet): Promise<void>;
  outgoingClearMessageId(client: SessionClient, packet: Packet): Promise<Packet | undefined>;
  outgoingStream(client: SessionClient): Readable;
  incomingStorePacket(client: SessionClient, packet: Packet): Promise<void>;
  incomingGetPacket(client: SessionClient, packet: Packet): Promise<Packet>;
  incomingDelPacket(client: SessionClient, packet: Packet): Promise<void>;
  cleanIncoming(client: SessionClient): Promise<void>;
  putWill(client: SessionClient, packet: Packet): Promise<void>;
  getWill(client: SessionClient): Promise<Packet | undefined>;
  delWill(client: SessionClient): Promise<Packet | undefined>;
  streamWill(brokers?: object): Readable;
  getClientList(topic: string): Readable;
  destroy(): Promise<void>;
}

/** aedes only tests whether the lookup rejected; one shared error spares a stack trace a message. */
const NOT_STORED = new Error('no such packet');

/**
 * The QoS 2 receive state of clean-session connections, in memory: packet ids
 * awaiting PUBREL, so that a retransmitted PUBLISH is not delivered twice. It
 * belongs to one connection (MQTT-3.1.2-6), so a new connection under the same
 * id starts afresh and a closed one is forgotten.
 */
class CleanSessionReceipts {
  private readonly sessions = new Map<string, { connection: SessionClient; packets: Map<number, Packet> }>();

  private packetsOf(client: SessionClient): Map<number, Packet> | undefined {
    const session = this.sessions.get(client.id);
    return session?.connection === client ? session.packets : undefined;
  }

  store(client: SessionClient, messageId: number, packet: Packet): void {
    let packets = this.packetsOf(client);
    if (!packets) {
      packets = new Map();
      this.sessions.set(client.id, { connection: client, packets });
    }
    packets.set(messageId, packet);
  }

  get(client: SessionClient, messageId: number): Promise<Packet> {
    const packet = this.packetsOf(client)?.get(messageId);
    return packet ? Promise.resolve(packet) : Promise.reject(NOT_STORED);
  }

  delete(client: SessionClient, messageId: number): Promise<void> {
    return this.packetsOf(client)?.delete(messageId) ? Promise.resolve() : Promise.reject(NOT_STORED);
  }

  forget(client: SessionClient): void {
    this.sessions.delete(client.id);
  }

  forgetConnection(client: SessionClient): void {
    if (this.sessions.get(client.id)?.connection === client) this.sessions.delete(client.id);
  }
}

/** Where aedes-persistence-level keeps queued outgoing packets: outgoing:<encoded client id>:… */
const OUTGOING_PREFIX = 'outgoing:';

/**
 * aedes-persistence-level for everything that must outlive a restart (retained
 * messages, wills, persistent sessions' subscriptions and queues), and memory for
 * the QoS 2 receive state of clean-session clients.
 *
 * That state dies with the connection anyway (MQTT-3.1.2-6), yet aedes stores it
 * for every QoS 2 PUBLISH: four LevelDB operations a message (a lookup, a put, a
 * get on PUBREL and a delete). Likewise every PUBACK and PUBCOMP looks up the
 * client's outgoing queue, which a clean client only has if its id once held a
 * persistent session. Both cost ninho a third to a half of its QoS 1 and 2
 * throughput against bare aedes (test/bench/RESULTS.md).
 */
export class SessionAwarePersistence implements AsyncPersistence {
  private readonly durable: AsyncPersistence;
  private readonly receipts = new CleanSessionReceipts();
  private attachedBroker: unknown;
  /** Client ids that have, or once had, packets queued in LevelDB. */
  private readonly durableOutgoing = new Set<string>();

  constructor(private readonly db: ClassicLevel<string, Buffer>) {
    this.durable = new AsyncLevelPersistence(db) as AsyncPersistence;
  }

  /** Drops a closed clean-session connection's receive state; BrokerService calls it on disconnect. */
  connectionClosed(client: SessionClient): void {
    if (client.clean === true) this.receipts.forgetConnection(client);
  }

  /** The broker this persistence serves; the aedes-persistence suite reads it. */
  get broker(): unknown {
    return this.attachedBroker;
  }

  async setup(broker: unknown): Promise<void> {
    this.attachedBroker = broker;
    await this.durable.setup(broker);
    for await (const key of this.db.keys({ gte: OUTGOING_PREFIX, lt: 'outgoing;' })) {
      const encodedId = key.slice(OUTGOING_PREFIX.length, key.indexOf(':', OUTGOING_PREFIX.length));
      this.durableOutgoing.add(decodeURIComponent(encodedId));
    }
  }

  // Clients that the abstract suite makes up carry no clean flag: they count as persistent.
  incomingStorePacket(client: SessionClient, packet: Packet & IncomingPacket): Promise<void> {
    if (client.clean !== true) return this.durable.incomingStorePacket(client, packet);
    this.receipts.store(client, packet.messageId ?? 0, packet);
    return Promise.resolve();
  }

  incomingGetPacket(client: SessionClient, packet: Packet & IncomingPacket): Promise<Packet> {
    if (client.clean !== true) return this.durable.incomingGetPacket(client, packet);
    return this.receipts.get(client, packet.messageId ?? 0);
  }

  incomingDelPacket(client: SessionClient, packet: Packet & IncomingPacket): Promise<void> {
    if (client.clean !== true) return this.durable.incomingDelPacket(client, packet);
    return this.receipts.delete(client, packet.messageId ?? 0);
  }

  /** A clean CONNECT discards the previous session, which may have been a persistent one. */
  async cleanIncoming(client: SessionClient): Promise<void> {
    this.receipts.forget(client);
    await this.durable.cleanIncoming(client);
  }

  storeRetained(packet: Packet): Promise<void> {
    return this.durable.storeRetained(packet);
  }

  createRetainedStream(pattern: string): Readable {
    return this.durable.createRetainedStream(pattern);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.durable.createRetainedStreamCombi(patterns);
  }

  addSubscriptions(client: SessionClient, subscriptions: object[]): Promise<void> {
    return this.durable.addSubscriptions(client, subscriptions);
  }

  removeSubscriptions(client: SessionClient, topics: string[]): Promise<void> {
    return this.durable.removeSubscriptions(client, topics);
  }

  subscriptionsByClient(client: SessionClient): Promise<object[]> {
    return this.durable.subscriptionsByClient(client);
  }

  countOffline(): Promise<object> {
    return this.durable.countOffline();
  }

  subscriptionsByTopic(pattern: string): Promise<object[]> {
    return this.durable.subscriptionsByTopic(pattern);
  }

  cleanSubscriptions(client: SessionClient): Promise<void> {
    return this.durable.cleanSubscriptions(client);
  }

  outgoingEnqueue(subscription: { clientId: string }, packet: Packet): Promise<void> {
    this.durableOutgoing.add(subscription.clientId);
    return this.durable.outgoingEnqueue(subscription, packet);
  }

  outgoingEnqueueCombi(subscriptions: Array<{ clientId: string }>, packet: Packet): Promise<void> {
    for (const { clientId } of subscriptions) this.durableOutgoing.add(clientId);
    return this.durable.outgoingEnqueueCombi(subscriptions, packet);
  }

  outgoingUpdate(client: SessionClient, packet: Packet): Promise<void> {
    this.durableOutgoing.add(client.id);
    return this.durable.outgoingUpdate(client, packet);
  }

  outgoingClearMessageId(client: SessionClient, packet: Packet): Promise<Packet | undefined> {
    // The LevelDB lookup would miss: nothing was ever queued under this id.
    if (client.clean === true && !this.durableOutgoing.has(client.id)) return Promise.resolve(undefined);
    return this.durable.outgoingClearMessageId(client, packet);
  }

  outgoingStream(client: SessionClient): Readable {
    return this.durable.outgoingStream(client);
  }

  putWill(client: SessionClient, packet: Packet): Promise<void> {
    return this.durable.putWill(client, packet);
  }

  getWill(client: SessionClient): Promise<Packet | undefined> {
    return this.durable.getWill(client);
  }

  delWill(client: SessionClient): Promise<Packet | undefined> {
    return this.durable.delWill(client);
  }

  streamWill(brokers?: object): Readable {
    return this.durable.streamWill(brokers);
  }

  getClientList(topic: string): Readable {
    return this.durable.getClientList(topic);
  }

  destroy(): Promise<void> {
    return this.durable.destroy();
  }
}
