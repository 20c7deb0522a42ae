import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import Database from 'better-sqlite3';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { databaseFile, PrismaService } from '../database/prisma.service';

export interface StoredRule {
  id: string;
  name: string;
  enabled: boolean;
  definition: unknown;
  source: 'api' | 'file';
  createdAt: Date;
  updatedAt: Date;
}

export type RunStatus = 'running' | 'waiting' | 'done' | 'failed' | 'not-met' | 'skipped' | 'dropped' | 'aborted' | 'loop';

export interface RunRecord {
  id: string;
  ruleId: string;
  startedAt: number;
  finishedAt: number | null;
  status: RunStatus;
  trigger: unknown;
  trace: unknown;
}

export interface TimerRecord {
  id: string;
  ruleId: string;
  kind: 'for' | 'resume';
  dueAt: number;
  data: unknown;
}

/** How many runs each rule keeps in its log; older ones are pruned. */
export const RUNS_KEPT_PER_RULE = 200;

const UPSERT_RUNS = `INSERT INTO "RuleRun" ("id", "ruleId", "startedAt", "finishedAt", "status", "trigger", "trace")
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM json_each(?)
  WHERE EXISTS (SELECT 1 FROM "Rule" WHERE "Rule"."id" = value ->> 1)
  ON CONFLICT ("id") DO UPDATE SET "finishedAt" = excluded."finishedAt", "status" = excluded."status", "trace" = excluded."trace"`;

/** Rules, their run log and their durable timers. */
@Injectable()
export class RuleRepository implements OnApplicationShutdown {
  /**
   * The run log is written on a connection of its own with a prepared statement: through
   * Prisma, a batch of 250 runs blocked the event loop for ~20 ms (the query compiler handles
   * the whole JSON parameter), which was most of the rules' p99 latency (test/bench/RESULTS.md).
   * Its own connection also keeps these writes out of Prisma's transactions on the shared one.
   */
  private runLog: Database.Database | undefined;
  private upsertStatement: Database.Statement<[string]> | undefined;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onApplicationShutdown(): void {
    this.runLog?.close();
    this.runLog = undefined;
  }

  private upsert(): Database.Statement<[string]> {
    if (!this.upsertStatement) {
      this.runLog = new Database(databaseFile(this.config));
      this.runLog.pragma('busy_timeout = 5000');
      this.runLog.pragma('synchronous = NORMAL');
      this.runLog.pragma('foreign_keys = ON');
      this.upsertStatement = this.runLog.prepare<[string]>(UPSERT_RUNS);
    }
    return this.upsertStatement;
  }

  async loadRules(): Promise<StoredRule[]> {
    const rows = await this.prisma.rule.findMany({ orderBy: { id: 'asc' } });
    return rows.map((row) => ({ ...row, definition: JSON.parse(row.definition) as unknown, source: row.source as StoredRule['source'] }));
  }

  async saveRule(rule: { id: string; name: string; enabled: boolean; definition: unknown; source: StoredRule['source'] }): Promise<void> {
    const data = { name: rule.name, enabled: rule.enabled, definition: JSON.stringify(rule.definition), source: rule.source };
    await this.prisma.rule.upsert({ where: { id: rule.id }, create: { id: rule.id, ...data }, update: data });
  }

  async deleteRule(id: string): Promise<void> {
    await this.prisma.rule.deleteMany({ where: { id } });
  }

  /**
   * Writes a batch of runs, new or updated, in one statement (the JSON-batch pattern of the
   * history writer: SQLite SQL, see DECISIONS.md for PostgreSQL).
   */
  upsertRuns(runs: RunRecord[]): Promise<void> {
    if (runs.length === 0) return Promise.resolve();
    const rows = JSON.stringify(
      runs.map((r) => [r.id, r.ruleId, r.startedAt, r.finishedAt, r.status, JSON.stringify(r.trigger), JSON.stringify(r.trace)]),
    );
    // Runs of a rule deleted meanwhile are left out rather than failing the whole batch on the foreign key.
    this.upsert().run(rows);
    return Promise.resolve();
  }

  async pruneRuns(ruleIds: Iterable<string>): Promise<void> {
    for (const ruleId of ruleIds) {
      await this.prisma.$executeRaw`DELETE FROM "RuleRun" WHERE "ruleId" = ${ruleId} AND "id" NOT IN
        (SELECT "id" FROM "RuleRun" WHERE "ruleId" = ${ruleId} ORDER BY "startedAt" DESC, "id" DESC LIMIT ${RUNS_KEPT_PER_RULE})`;
    }
  }

  async runs(ruleId: string, limit: number): Promise<RunRecord[]> {
    const rows = await this.prisma.ruleRun.findMany({ where: { ruleId }, orderBy: [{ startedAt: 'desc' }, { id: 'desc' }], take: limit });
    return rows.map((row) => ({
      id: row.id,
      ruleId: row.ruleId,
      startedAt: Number(row.startedAt),
      finishedAt: row.finishedAt === null ? null : Number(row.finishedAt),
      status: row.status as RunStatus,
      trigger: JSON.parse(row.trigger) as unknown,
      trace: JSON.parse(row.trace) as unknown,
    }));
  }

  async loadTimers(): Promise<TimerRecord[]> {
    const rows = await this.prisma.ruleTimer.findMany({ orderBy: { dueAt: 'asc' } });
    return rows.map((row) => ({
      id: row.id,
      ruleId: row.ruleId,
      kind: row.kind as TimerRecord['kind'],
      dueAt: Number(row.dueAt),
      data: JSON.parse(row.data) as unknown,
    }));
  }

  async saveTimer(timer: TimerRecord): Promise<void> {
    const data = { ruleId: timer.ruleId, kind: timer.kind, dueAt: BigInt(timer.dueAt), data: JSON.stringify(timer.data) };
    await this.prisma.ruleTimer.upsert({ where: { id: timer.id }, create: { id: timer.id, ...data }, update: data });
  }

  /** True when this call removed it: the one caller that may act on the timer. */
  async takeTimer(id: string): Promise<boolean> {
    const { count } = await this.prisma.ruleTimer.deleteMany({ where: { id } });
    return count > 0;
  }

  async deleteTimersOf(ruleId: string): Promise<void> {
    await this.prisma.ruleTimer.deleteMany({ where: { ruleId } });
  }
}
