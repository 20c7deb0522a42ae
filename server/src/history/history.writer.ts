import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { EventBus } from '../events/event-bus';
import type { NinhoEvents } from '../events/event-map';
import { HistoryRepository } from './history.repository';
import type { HistoryBatch, ReadingRow } from './history.types';

/** Past this many unwritten rows (e.g. a full disk for minutes) the oldest are dropped, loudly. */
const MAX_PENDING_ROWS = 2_000_000;

/**
 * Batches entity states into one transaction per flush: every flushIntervalMs, or
 * sooner when flushRows are waiting. Prisma's one-row create() manages ~500 rows/s
 * here and a batched insert tens of thousands (DESIGN.md). A failed flush keeps its
 * rows and retries; SIGTERM/SIGINT flush what is left before the database closes.
 */
@Injectable()
export class HistoryWriter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('HistoryWriter');
  private readings: ReadingRow[] = [];
  private latest: HistoryBatch['latest'] = new Map();
  private lastSeen: HistoryBatch['lastSeen'] = new Map();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Why the last flush failed, while flushes keep failing (a full disk, say). */
  private failure: string | undefined;
  private totalWritten = 0;
  /** Entities of purged devices; their refs are never reused (AUTOINCREMENT). */
  private readonly removedRefs = new Set<number>();

  constructor(
    private readonly repository: HistoryRepository,
    private readonly events: EventBus,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  onModuleInit(): void {
    this.events.on('entity.state', 'history-writer', (event) => this.enqueue(event));
    this.events.on('device.removed', 'history-writer', ({ deviceId, entityRefs }) => this.forget(deviceId, entityRefs));
    this.timer = setInterval(() => void this.flush(), this.config.history.flushIntervalMs);
    this.timer.unref();
  }

  get pendingRows(): number {
    return this.readings.length;
  }

  get writtenRows(): number {
    return this.totalWritten;
  }

  get lastFailure(): string | undefined {
    return this.failure;
  }

  private enqueue({ entityRef, deviceId, state, at }: NinhoEvents['entity.state']): void {
    this.readings.push({
      entityRef,
      ts: at.getTime(),
      value: typeof state === 'number' ? state : typeof state === 'boolean' ? Number(state) : null,
      text: typeof state === 'string' ? state : null,
    });
    this.latest.set(entityRef, { state: JSON.stringify(state), at });
    this.lastSeen.set(deviceId, at);
    if (this.readings.length > MAX_PENDING_ROWS) {
      const dropped = this.readings.splice(0, this.readings.length - MAX_PENDING_ROWS);
      this.logger.error(`history backlog over ${MAX_PENDING_ROWS} rows: dropped the ${dropped.length} oldest readings`);
    }
    if (this.readings.length >= this.config.history.flushRows && !this.flushing) void this.flush();
  }

  /**
   * Drops what is pending for a purged device: its rows would now break the foreign key and
   * fail every flush. A flush already under way may still fail once, and retries without them.
   */
  private forget(deviceId: string, entityRefs: number[]): void {
    for (const ref of entityRefs) {
      this.removedRefs.add(ref);
      this.latest.delete(ref);
    }
    this.lastSeen.delete(deviceId);
    this.readings = this.readings.filter((r) => !this.removedRefs.has(r.entityRef));
  }

  /** Writes everything pending; concurrent callers share the flush in progress. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.readings.length === 0 && this.latest.size === 0 && this.lastSeen.size === 0) return Promise.resolve();
    const batch: HistoryBatch = { readings: this.readings, latest: this.latest, lastSeen: this.lastSeen };
    this.readings = [];
    this.latest = new Map();
    this.lastSeen = new Map();
    this.flushing = this.repository
      .writeBatch(batch)
      .then(() => {
        this.totalWritten += batch.readings.length;
        if (this.failure !== undefined) this.logger.log(`history writes recovered; ${batch.readings.length} waiting rows written`);
        this.failure = undefined;
      })
      .catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        if (this.failure === undefined)
          this.logger.error(`history flush of ${batch.readings.length} rows failed, keeping them to retry: ${reason}`);
        this.failure = reason;
        // Put the batch back in front, keeping newer latest states over older ones.
        this.readings = batch.readings.filter((r) => !this.removedRefs.has(r.entityRef)).concat(this.readings);
        for (const [ref, v] of batch.latest) if (!this.latest.has(ref) && !this.removedRefs.has(ref)) this.latest.set(ref, v);
        for (const [id, v] of batch.lastSeen) if (!this.lastSeen.has(id)) this.lastSeen.set(id, v);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    // A flush that was running when shutdown began left newer rows behind it.
    await this.flush();
    this.logger.log(`flushed on shutdown; ${this.readings.length} rows could not be written`);
  }
}
