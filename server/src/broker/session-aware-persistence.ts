import type { Readable } from 'node:stream';
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import MemoryPersistence from 'aedes-persistence/asyncPersistence.js';
import type { ClassicLevel } from 'classic-level';

/** What a persistence needs to know of an aedes client; `clean` is its clean-session flag. */
export interface SessionClient {
  id: string;
  clean?: boolean;
}

/** Packets are stored and handed back to aedes as they are. */
type Packet = object;

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

/**
 * aedes-persistence-level for everything that must outlive a restart (retained
 * messages, wills, persistent sessions' subscriptions and queues), and aedes' own
 * in-memory persistence for the QoS 2 receive state of clean-session clients.
 *
 * That state dies with the connection anyway (MQTT-3.1.2-6), yet aedes stores it
 * for every QoS 2 PUBLISH: four LevelDB operations a message (a lookup, a put, a
 * get on PUBREL and a delete), which cost ninho more than half its QoS 2
 * throughput (test/bench/RESULTS.md). aedes already keeps clean clients'
 * outgoing state out of the persistence; this does the same for incoming.
 */
export class SessionAwarePersistence implements AsyncPersistence {
  private readonly durable: AsyncPersistence;
  private readonly volatile: AsyncPersistence;
  private attachedBroker: unknown;

  constructor(db: ClassicLevel<string, Buffer>) {
    this.durable = new AsyncLevelPersistence(db) as AsyncPersistence;
    this.volatile = new MemoryPersistence() as AsyncPersistence;
  }

  /** Clients the abstract suite makes up have no flag: they count as persistent. */
  private incomingStore(client: SessionClient): AsyncPersistence {
    return client.clean === true ? this.volatile : this.durable;
  }

  /** The broker this persistence serves; the aedes-persistence suite reads it. */
  get broker(): unknown {
    return this.attachedBroker;
  }

  async setup(broker: unknown): Promise<void> {
    this.attachedBroker = broker;
    await Promise.all([this.durable.setup(broker), this.volatile.setup(broker)]);
  }

  incomingStorePacket(client: SessionClient, packet: Packet): Promise<void> {
    return this.incomingStore(client).incomingStorePacket(client, packet);
  }

  incomingGetPacket(client: SessionClient, packet: Packet): Promise<Packet> {
    return this.incomingStore(client).incomingGetPacket(client, packet);
  }

  incomingDelPacket(client: SessionClient, packet: Packet): Promise<void> {
    return this.incomingStore(client).incomingDelPacket(client, packet);
  }

  /** A clean CONNECT discards the previous session, which may have been a persistent one. */
  async cleanIncoming(client: SessionClient): Promise<void> {
    await Promise.all([this.durable.cleanIncoming(client), this.volatile.cleanIncoming(client)]);
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
    return this.durable.outgoingEnqueue(subscription, packet);
  }

  outgoingEnqueueCombi(subscriptions: Array<{ clientId: string }>, packet: Packet): Promise<void> {
    return this.durable.outgoingEnqueueCombi(subscriptions, packet);
  }

  outgoingUpdate(client: SessionClient, packet: Packet): Promise<void> {
    return this.durable.outgoingUpdate(client, packet);
  }

  outgoingClearMessageId(client: SessionClient, packet: Packet): Promise<Packet | undefined> {
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

  async destroy(): Promise<void> {
    await Promise.all([this.volatile.destroy(), this.durable.destroy()]);
  }
}
