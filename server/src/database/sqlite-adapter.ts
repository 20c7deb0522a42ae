import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';
import type { Database } from 'better-sqlite3';

/** Prisma's adapter keeps its better-sqlite3 connection in a public `client` field. */
interface WithConnection {
  client: Database;
}

/**
 * Prisma's better-sqlite3 adapter with a defect mended (prisma/orm#29933, open).
 * When COMMIT fails (a full disk, SQLITE_BUSY), Prisma 6.19 neither sends ROLLBACK
 * nor calls the transaction's rollback(), which is where the adapter releases its
 * transaction mutex: the connection stays inside the failed transaction and every
 * later transaction waits for the mutex forever, so nothing is ever written again.
 * Here a failed COMMIT ends the transaction itself: ROLLBACK if SQLite still has it
 * open, then the mutex is released exactly once.
 */
export function sqliteAdapter(file: string): SqlMigrationAwareDriverAdapterFactory {
  const factory = new PrismaBetterSQLite3({ url: `file:${file}` });
  const mend = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    const { client } = adapter as unknown as WithConnection;
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      const transaction: Transaction = await startTransaction(isolationLevel);
      const release = { commit: transaction.commit.bind(transaction), rollback: transaction.rollback.bind(transaction) };
      const executeRaw = transaction.executeRaw.bind(transaction);
      let ended = false;
      const end = async (how: 'commit' | 'rollback'): Promise<void> => {
        if (ended) return;
        ended = true;
        await release[how]();
      };
      const abandon = async (): Promise<void> => {
        try {
          if (client.inTransaction) client.exec('ROLLBACK');
        } finally {
          await end('rollback');
        }
      };
      transaction.executeRaw = async (query) => {
        try {
          return await executeRaw(query);
        } catch (error) {
          if (/^\s*COMMIT\b/i.test(query.sql)) await abandon();
          throw error;
        }
      };
      transaction.commit = () => end('commit');
      transaction.rollback = abandon;
      return transaction;
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => mend(await factory.connect()),
    connectToShadowDb: async () => mend(await factory.connectToShadowDb()),
  };
}
