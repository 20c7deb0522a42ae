import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../server/src/database/migrator';
import { REPO_ROOT, tempDataDir } from '../support/server';

const run = promisify(execFile);
const PRISMA = path.join(REPO_ROOT, 'node_modules', 'prisma', 'build', 'index.js');

/** Tables, columns, indexes and foreign keys, in a form that ignores the order they were created in. */
function describeSchema(file: string): unknown {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('_prisma_migrations', 'sqlite_sequence') ORDER BY name",
        )
        .all() as Array<{ name: string }>
    ).map((t) => t.name);
    return tables.map((table) => ({
      table,
      columns: db.pragma(`table_info("${table}")`),
      indexes: (db.pragma(`index_list("${table}")`) as Array<{ name: string; unique: number }>)
        .map((index) => ({
          name: index.name,
          unique: index.unique,
          columns: (db.pragma(`index_info("${index.name}")`) as Array<{ name: string }>).map((c) => c.name),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      foreignKeys: db.pragma(`foreign_key_list("${table}")`),
    }));
  } finally {
    db.close();
  }
}

describe('database migrations', () => {
  it('a database migrated from zero matches prisma/schema.prisma', async () => {
    const migratedDir = tempDataDir();
    const report = migrate(path.join(migratedDir, 'ninho.db'), path.join(REPO_ROOT, 'prisma', 'migrations'));
    expect(report.applied.length).toBeGreaterThan(0);

    // The reference: the SQL Prisma derives from the current schema file alone. (`prisma db push`
    // would do, but in adapter mode it hangs after finishing.)
    const referenceDir = tempDataDir();
    const { stdout: schemaSql } = await run(
      process.execPath,
      [PRISMA, 'migrate', 'diff', '--from-empty', '--to-schema-datamodel', path.join(REPO_ROOT, 'prisma', 'schema.prisma'), '--script'],
      { cwd: REPO_ROOT, env: { ...process.env, NINHO_DATA_DIR: referenceDir } },
    );
    const reference = new Database(path.join(referenceDir, 'reference.db'));
    reference.exec(schemaSql);
    reference.close();

    expect(describeSchema(path.join(migratedDir, 'ninho.db'))).toEqual(describeSchema(path.join(referenceDir, 'reference.db')));

    // Prisma's own CLI agrees that nothing is pending.
    const status = await run(process.execPath, [PRISMA, 'migrate', 'status'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NINHO_DATA_DIR: migratedDir },
    });
    expect(status.stdout).toContain('Database schema is up to date');
  }, 60_000);

  it('applying the migrations twice is a no-op, and a changed migration is refused', () => {
    const dir = tempDataDir();
    const file = path.join(dir, 'ninho.db');
    migrate(file, path.join(REPO_ROOT, 'prisma', 'migrations'));
    expect(migrate(file, path.join(REPO_ROOT, 'prisma', 'migrations')).applied).toEqual([]);
    const db = new Database(file);
    db.prepare("UPDATE _prisma_migrations SET checksum = 'tampered'").run();
    db.close();
    expect(() => migrate(file, path.join(REPO_ROOT, 'prisma', 'migrations'))).toThrow(/changed after it was applied/);
  });
});
