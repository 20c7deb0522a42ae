import fs from 'node:fs';
import path from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import type { PrismaConfig } from 'prisma';

// Prisma 6.19 in adapter mode runs fully offline (bundled WASM schema engine);
// see shared DESIGN.md. The CLI works on the database in NINHO_DATA_DIR.
const dataDir = process.env.NINHO_DATA_DIR ?? './data';

export default {
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    // better-sqlite3 cannot create the folder, and the CLI opens the file even for a diff.
    fs.mkdirSync(dataDir, { recursive: true });
    return new PrismaBetterSQLite3({ url: `file:${path.join(dataDir, 'ninho.db')}` });
  },
} satisfies PrismaConfig;
