import { Global, Module } from '@nestjs/common';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';

export type CancelTimer = () => void;

/**
 * The wall clock and timers on it, injected so that time-based logic (rules' `for:`,
 * delays, schedules) can be driven by a ManualClock in tests instead of real minutes.
 */
export abstract class Clock {
  abstract now(): Date;
  /** Calls fn once the clock reaches `at` (Unix ms); at once if that is already past. */
  abstract setTimer(at: number, fn: () => void): CancelTimer;
}

/** setTimeout cannot wait longer than 2^31-1 ms (~24.8 days); longer waits are chained. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }

  setTimer(at: number, fn: () => void): CancelTimer {
    let handle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      const wait = at - Date.now();
      handle = setTimeout(wait > MAX_TIMEOUT_MS ? arm : fn, Math.max(0, Math.min(wait, MAX_TIMEOUT_MS)));
      handle.unref();
    };
    arm();
    return () => clearTimeout(handle);
  }
}

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * Time that moves only when told to (NINHO_TEST_CLOCK). advance() fires due timers in
 * order, letting the I/O they start settle between them, as real time would.
 */
export class ManualClock extends Clock {
  private current: number;
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(start: number) {
    super();
    this.current = start;
  }

  now(): Date {
    return new Date(this.current);
  }

  setTimer(at: number, fn: () => void): CancelTimer {
    const timer = { at, seq: this.seq++, fn };
    this.timers.push(timer);
    if (at <= this.current) setImmediate(() => this.fire(timer));
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      this.fire(next);
      await settle();
    }
    this.current = target;
    await settle();
  }

  private fire(timer: ManualTimer): void {
    if (!this.timers.includes(timer)) return;
    this.timers = this.timers.filter((t) => t !== timer);
    timer.fn();
  }
}

/** Lets promise chains and a little I/O (SQLite writes, loopback MQTT) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

export function createClock(config: Config): Clock {
  return config.testClock === undefined ? new SystemClock() : new ManualClock(config.testClock);
}

@Global()
@Module({
  providers: [{ provide: Clock, useFactory: createClock, inject: [CONFIG] }],
  exports: [Clock],
})
export class ClockModule {}
