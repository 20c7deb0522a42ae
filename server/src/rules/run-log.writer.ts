import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { RuleRepository, type RunRecord } from './rule.repository';

const FLUSH_INTERVAL_MS = 100;
const MAX_PENDING = 50_000;
/** A rule's log is trimmed once it has this many runs past the limit, a few rules per flush. */
const PRUNE_AFTER_NEW_RUNS = 50;
const PRUNES_PER_FLUSH = 5;

/**
 * Buffers run records and writes them in batches: at 1,000 triggers a second a row per run
 * would cost more than the rules themselves (DESIGN.md's write figures).
 */
@Injectable()
export class RunLogWriter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RunLog');
  private pending = new Map<string, RunRecord>();
  /** New runs written per rule since its log was last trimmed. */
  private readonly newRuns = new Map<string, number>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly repository: RuleRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  record(run: RunRecord): void {
    this.pending.set(run.id, { ...run });
    if (this.pending.size > MAX_PENDING) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
  }

  /** Writes everything pending; concurrent callers share the flush in progress. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.write(batch).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(batch: RunRecord[]): Promise<void> {
    try {
      await this.repository.upsertRuns(batch);
      for (const run of batch) this.newRuns.set(run.ruleId, (this.newRuns.get(run.ruleId) ?? 0) + 1);
      // Trimming every rule at once stalled the event loop for hundreds of ms with 1,000 busy rules.
      const due = [...this.newRuns].filter(([, n]) => n >= PRUNE_AFTER_NEW_RUNS).slice(0, PRUNES_PER_FLUSH);
      for (const [ruleId] of due) this.newRuns.delete(ruleId);
      if (due.length > 0) await this.repository.pruneRuns(due.map(([ruleId]) => ruleId));
    } catch (error) {
      // Keep them for the next flush, unless newer versions of the same runs arrived meanwhile.
      for (const run of batch) if (!this.pending.has(run.id)) this.pending.set(run.id, run);
      this.logger.error(`could not write ${batch.length} rule runs, will retry: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
