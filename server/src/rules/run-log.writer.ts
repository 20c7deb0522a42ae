import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { RuleRepository, type RunRecord } from './rule.repository';

const FLUSH_INTERVAL_MS = 500;
const PRUNE_EVERY_FLUSHES = 120;
const MAX_PENDING = 50_000;

/**
 * Buffers run records and writes them in batches: at 1,000 triggers a second a row per run
 * would cost more than the rules themselves (DESIGN.md's write figures).
 */
@Injectable()
export class RunLogWriter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RunLog');
  private pending = new Map<string, RunRecord>();
  private touched = new Set<string>();
  private flushes = 0;
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
    for (const run of batch) this.touched.add(run.ruleId);
    this.flushing = this.write(batch).finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(batch: RunRecord[]): Promise<void> {
    try {
      await this.repository.upsertRuns(batch);
      if (++this.flushes % PRUNE_EVERY_FLUSHES === 0) {
        const touched = this.touched;
        this.touched = new Set();
        await this.repository.pruneRuns(touched);
      }
    } catch (error) {
      // Keep them for the next flush, unless newer versions of the same runs arrived meanwhile.
      for (const run of batch) if (!this.pending.has(run.id)) this.pending.set(run.id, run);
      this.logger.error(`could not write ${batch.length} rule runs, will retry: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
