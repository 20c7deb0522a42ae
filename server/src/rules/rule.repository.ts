import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

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

/** Rules, their run log and their durable timers. */
@Injectable()
export class RuleRepository {
  constructor(private readonly prisma: PrismaService) {}

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
  async upsertRuns(runs: RunRecord[]): Promise<void> {
    if (runs.length === 0) return;
    const rows = JSON.stringify(
      runs.map((r) => [r.id, r.ruleId, r.startedAt, r.finishedAt, r.status, JSON.stringify(r.trigger), JSON.stringify(r.trace)]),
    );
    // Runs of a rule deleted meanwhile are left out rather than failing the whole batch on the foreign key.
    await this.prisma.$executeRaw`INSERT INTO "RuleRun" ("id", "ruleId", "startedAt", "finishedAt", "status", "trigger", "trace")
      SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM json_each(${rows})
      WHERE EXISTS (SELECT 1 FROM "Rule" WHERE "Rule"."id" = value ->> 1)
      ON CONFLICT ("id") DO UPDATE SET "finishedAt" = excluded."finishedAt", "status" = excluded."status", "trace" = excluded."trace"`;
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
