import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StartupError } from '../startup-error';

/**
 * Applies prisma/migrations at start-up with the same bookkeeping as
 * `prisma migrate deploy` (the `_prisma_migrations` table, sha256 checksums), so
 * the CLI's `migrate status` agrees with us. We do not spawn the CLI: it adds
 * about two seconds to every start and belongs to the dev toolchain.
 */

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

export class MigrationError extends StartupError {
  override name = 'MigrationError';
}

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

/** Prisma writes SQLite timestamps as ISO 8601 with an explicit +00:00 offset. */
function prismaTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '+00:00');
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: string | null;
  rolled_back_at: string | null;
}

export function listMigrations(migrationsDir: string): Array<{ name: string; sql: string; checksum: string }> {
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export function migrate(databaseFile: string, migrationsDir: string): MigrationReport {
  const db = new Database(databaseFile);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(BOOKKEEPING);
    const rows = db.prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations').all() as AppliedRow[];
    const applied = new Map(rows.filter((r) => r.rolled_back_at === null).map((r) => [r.migration_name, r]));
    const report: MigrationReport = { applied: [], alreadyApplied: 0 };

    for (const migration of listMigrations(migrationsDir)) {
      const row = applied.get(migration.name);
      if (row) {
        if (row.finished_at === null) {
          throw new MigrationError(
            `migration ${migration.name} started earlier but never finished; restore a backup or resolve it with "prisma migrate resolve"`,
          );
        }
        if (row.checksum !== migration.checksum) {
          throw new MigrationError(`migration ${migration.name} was changed after it was applied (checksum mismatch)`);
        }
        report.alreadyApplied += 1;
        continue;
      }
      const startedAt = prismaTimestamp(new Date());
      // One transaction per migration: a failure leaves the database as it was.
      db.transaction(() => {
        db.exec(migration.sql);
        db.prepare(
          'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, ?, 1)',
        ).run(randomUUID(), migration.checksum, prismaTimestamp(new Date()), migration.name, startedAt);
      })();
      report.applied.push(migration.name);
    }
    return report;
  } finally {
    db.close();
  }
}
