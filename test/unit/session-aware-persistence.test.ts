import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionAwarePersistence, type SessionClient } from '../../server/src/broker/session-aware-persistence';

const broker = { id: 'broker-1', counter: 0 };
const open: SessionAwarePersistence[] = [];

async function persistence(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ninho-persistence-'))): Promise<SessionAwarePersistence> {
  const p = new SessionAwarePersistence(new ClassicLevel<string, Buffer>(dir));
  await p.setup(broker);
  open.push(p);
  return p;
}

function publish(messageId: number, brokerCounter = messageId): object {
  return {
    cmd: 'publish',
    topic: 't',
    payload: Buffer.from('x'),
    qos: 1,
    retain: false,
    dup: false,
    messageId,
    brokerId: broker.id,
    brokerCounter,
  };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.destroy()));
});

describe('SessionAwarePersistence', () => {
  it("keeps a clean connection's QoS 2 receipts to that connection", async () => {
    const p = await persistence();
    const first: SessionClient = { id: 'dev', clean: true };
    await p.incomingStorePacket(first, { messageId: 7 });
    await expect(p.incomingGetPacket(first, { messageId: 7 })).resolves.toEqual({ messageId: 7 });

    // The same id on a new connection is a new session: the old receipt is not its own.
    const second: SessionClient = { id: 'dev', clean: true };
    await expect(p.incomingGetPacket(second, { messageId: 7 })).rejects.toThrow('no such packet');

    await p.incomingDelPacket(first, { messageId: 7 });
    await expect(p.incomingGetPacket(first, { messageId: 7 })).rejects.toThrow();
    await expect(p.incomingDelPacket(first, { messageId: 7 })).rejects.toThrow();
  });

  it('forgets the receipts of a closed clean connection, and of a clean reconnect', async () => {
    const p = await persistence();
    const client: SessionClient = { id: 'dev', clean: true };
    await p.incomingStorePacket(client, { messageId: 1 });
    p.connectionClosed(client);
    await expect(p.incomingGetPacket(client, { messageId: 1 })).rejects.toThrow();

    await p.incomingStorePacket(client, { messageId: 2 });
    await p.cleanIncoming({ id: 'dev', clean: true });
    await expect(p.incomingGetPacket(client, { messageId: 2 })).rejects.toThrow();
  });

  it('stores persistent sessions durably, across a reopen', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ninho-persistence-'));
    const first = await persistence(dir);
    const client: SessionClient = { id: 'sensor', clean: false };
    await first.incomingStorePacket(client, publish(3));
    await first.outgoingEnqueue({ clientId: 'sensor' }, publish(0, 1));
    await first.outgoingUpdate(client, publish(5, 1));
    await first.destroy();
    open.splice(open.indexOf(first), 1);

    const second = await persistence(dir);
    await expect(second.incomingGetPacket(client, publish(3))).resolves.toMatchObject({ messageId: 3 });
    // A clean connection under an id that once queued packets still clears them in LevelDB.
    const cleared = await second.outgoingClearMessageId({ id: 'sensor', clean: true }, { messageId: 5 });
    expect(cleared).toMatchObject({ messageId: 5, topic: 't' });
    expect(await second.outgoingClearMessageId({ id: 'sensor', clean: false }, { messageId: 5 })).toBeUndefined();
  });

  it('answers a clean client that never queued anything without a lookup', async () => {
    const p = await persistence();
    expect(await p.outgoingClearMessageId({ id: 'never-queued', clean: true }, { messageId: 1 })).toBeUndefined();
  });
});
