import fs from 'node:fs';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { PrismaClient } from '../generated/prisma/client';
import { MIGRATIONS_DIR } from '../paths';
import { migrate } from './migrator';
import { sqliteAdapter } from './sqlite-adapter';

export function databaseFile(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'ninho.db');
}

/** The one Prisma client, on SQLite in WAL mode, migrated before first use. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(@Inject(CONFIG) config: Config) {
    const file = databaseFile(config);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    super({ adapter: sqliteAdapter(file) });
    const report = migrate(file, MIGRATIONS_DIR);
    if (report.applied.length > 0) this.logger.log(`applied migrations: ${report.applied.join(', ')}`);
    this.logger.log(`database ${file}`);
  }

  async onModuleInit(): Promise<void> {
    // WAL lets the dashboard read while the history writer commits; NORMAL sync is
    // durable across process crashes and only risks the last commit on power loss.
    await this.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await this.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
    await this.$queryRawUnsafe('PRAGMA busy_timeout = 5000');
    await this.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  }

  /** Last of all shutdown hooks, so the history writer's final flush still has a connection. */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
