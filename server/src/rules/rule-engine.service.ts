import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { StateValue } from '@ninho/plugin-sdk';
import { BrokerService } from '../broker/broker.service';
import { Clock, type CancelTimer } from '../clock/clock';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { DeviceService } from '../devices/device.service';
import { EventBus } from '../events/event-bus';
import type { ConditionContext } from './conditions';
import { RuleRun, type ActionPath, type RunEnvironment, type RunTrace, type TriggerEvent } from './rule-run';
import { RuleRepository, type TimerRecord } from './rule.repository';
import type { Rule, Trigger } from './rule.schema';
import { RunLogWriter } from './run-log.writer';
import { nextOccurrence } from './schedule';
import { judgeAvailability, judgeEntityChange, NumericArming, stillHolds, type Verdict } from './trigger-watch';

/** When this process started, in base 36: run ids of a later start sort after this one's. */
const PROCESS_EPOCH = Date.now().toString(36).padStart(9, '0');
let runSequence = 0;

/**
 * Run ids sort in the order runs were created, across restarts too: the run log orders by
 * start time, and on a test clock many runs share one.
 */
function newRunId(): string {
  return `${PROCESS_EPOCH}${(runSequence++).toString(36).padStart(8, '0')}`;
}

/** A rule that appears this many times in its own chain of causes is looping. */
const LOOP_LIMIT = 3;
/**
 * A device answers a command from outside the process, where AsyncLocalStorage cannot follow;
 * its entity's changes this soon after a rule commanded it count as caused by that rule.
 */
const COMMAND_CAUSE_MS = 30_000;

interface ActiveRule {
  rule: Rule;
  runs: Set<RuleRun>;
  queue: TriggerEvent[];
  cleanups: Array<() => void>;
  /** Running `for:` waits, by trigger index. */
  forWaits: Map<number, CancelTimer>;
}

/** A listener on entity or device changes: a rule's trigger, or a run's wait action. */
interface Watcher {
  trigger: Trigger;
  index: number;
  key: string;
  onVerdict(verdict: Verdict): void;
}

interface ForTimerData {
  index: number;
  event: TriggerEvent;
}

interface ResumeData {
  runId: string;
  path: ActionPath;
  startedAt: number;
  trigger: TriggerEvent;
  trace: RunTrace;
}

/**
 * Runs the enabled rules: watches their triggers, checks conditions, runs actions under
 * each rule's mode, keeps `for:` waits and paused runs in the database so that a restart
 * resumes them, and stops a rule whose actions trigger it again.
 */
@Injectable()
export class RuleEngine implements OnModuleDestroy {
  private readonly logger = new Logger('Rules');
  private readonly active = new Map<string, ActiveRule>();
  private readonly entityWatchers = new Map<string, Set<Watcher>>();
  private readonly deviceWatchers = new Map<string, Set<Watcher>>();
  private readonly lastStates = new Map<string, StateValue>();
  private readonly arming = new NumericArming();
  /** The rules whose actions caused the code now running, for the loop guard. */
  private readonly causes = new AsyncLocalStorage<readonly string[]>();
  /** The chain of rules behind the last command to each entity, and when (real time). */
  private readonly commandCauses = new Map<string, { chain: readonly string[]; at: number }>();
  private readonly busListeners: Array<() => void> = [];
  private started = false;

  constructor(
    private readonly repository: RuleRepository,
    private readonly runLog: RunLogWriter,
    private readonly events: EventBus,
    private readonly broker: BrokerService,
    private readonly devices: DeviceService,
    private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Starts watching the event bus; rules are activated one by one afterwards. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const device of this.devices.list())
      for (const entity of device.entities.values()) if (entity.state !== undefined) this.lastStates.set(entity.id, entity.state);
    this.busListeners.push(
      this.events.on('entity.state', 'rules', ({ entityId, state, at }) => this.onEntityState(entityId, state, at.getTime())),
      this.events.on('device.availability', 'rules', ({ deviceId, online, at }) => this.onAvailability(deviceId, online, at.getTime())),
      this.events.on('coap.hook', 'rules', (hook) => this.onCoapHook(hook)),
    );
  }

  onModuleDestroy(): void {
    for (const stop of this.busListeners) stop();
    for (const id of [...this.active.keys()]) void this.stopRule(id, { keepDurable: true });
  }

  runsInProgress(ruleId: string): number {
    return this.active.get(ruleId)?.runs.size ?? 0;
  }

  /** Starts a rule's triggers; durable timers of the rule found in the database are taken up again. */
  activate(rule: Rule, timers: TimerRecord[] = []): void {
    void this.stopRule(rule.id, { keepDurable: true });
    const entry: ActiveRule = { rule, runs: new Set(), queue: [], cleanups: [], forWaits: new Map() };
    this.active.set(rule.id, entry);
    rule.triggers.forEach((trigger, index) => this.watchTrigger(entry, trigger, index));
    for (const timer of timers) {
      if (timer.kind === 'for') this.restoreForWait(entry, timer);
      else this.restoreRun(entry, timer);
    }
  }

  /** Stops a rule: its triggers, `for:` waits and runs. Durable state is deleted unless kept for a restart. */
  async stopRule(ruleId: string, { keepDurable }: { keepDurable: boolean }): Promise<void> {
    const entry = this.active.get(ruleId);
    if (!entry) {
      if (!keepDurable) await this.repository.deleteTimersOf(ruleId);
      return;
    }
    this.active.delete(ruleId);
    for (const cleanup of entry.cleanups) cleanup();
    for (const cancel of entry.forWaits.values()) cancel();
    this.arming.forget(`${ruleId}:`);
    for (const run of entry.runs) {
      if (keepDurable) run.abortQuietly();
      else run.abort('the rule was disabled, changed or removed');
    }
    if (!keepDurable) await this.repository.deleteTimersOf(ruleId);
  }

  /** "Run now": the actions, without triggers or conditions. */
  runNow(rule: Rule): string {
    const entry = this.active.get(rule.id) ?? { rule, runs: new Set<RuleRun>(), queue: [], cleanups: [], forWaits: new Map() };
    const at = this.clock.now().getTime();
    return this.startRun(entry, { index: -1, type: 'manual', at, description: 'run from the API' }, false);
  }

  // ── Triggers ────────────────────────────────────────────────────────────────────────────

  private watchTrigger(entry: ActiveRule, trigger: Trigger, index: number): void {
    const fire = (event: TriggerEvent): void => this.fire(entry, event);
    switch (trigger.type) {
      case 'state':
      case 'numeric':
      case 'device': {
        const watcher: Watcher = {
          trigger,
          index,
          key: `${entry.rule.id}:${index}`,
          onVerdict: (verdict) => this.onTriggerVerdict(entry, trigger, index, verdict),
        };
        entry.cleanups.push(this.addWatcher(watcher));
        if (trigger.type === 'numeric') {
          const state = this.lastStates.get(trigger.entity);
          // Already past the threshold when the rule starts: it fires on the next crossing, not now.
          if (typeof state === 'number' && stillHolds(trigger, state, undefined)) this.arming.set(watcher.key, false);
        }
        return;
      }
      case 'mqtt':
        entry.cleanups.push(this.watchMqtt(trigger, index, fire));
        return;
      case 'coap':
        // Matched in onCoapHook against the active rules' triggers.
        return;
      case 'time':
      case 'cron':
      case 'sun':
        entry.cleanups.push(this.watchSchedule(entry.rule.id, trigger, index, fire));
        return;
    }
  }

  private addWatcher(watcher: Watcher): () => void {
    const { trigger } = watcher;
    const map = trigger.type === 'device' ? this.deviceWatchers : this.entityWatchers;
    const target =
      trigger.type === 'device' ? trigger.device : trigger.type === 'state' || trigger.type === 'numeric' ? trigger.entity : '';
    const set = map.get(target) ?? new Set<Watcher>();
    set.add(watcher);
    map.set(target, set);
    return () => {
      set.delete(watcher);
      if (set.size === 0) map.delete(target);
    };
  }

  private watchMqtt(trigger: Extract<Trigger, { type: 'mqtt' }>, index: number, fire: (event: TriggerEvent) => void): () => void {
    return this.broker.subscribe(
      trigger.topic,
      ({ topic, payload }) => {
        const text = payload.toString('utf8');
        if (trigger.payload !== undefined && text !== trigger.payload) return;
        const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
        fire({ index, type: 'mqtt', at: this.clock.now().getTime(), topic, payload: shown, description: `MQTT message on ${topic}` });
      },
      // A retained message waiting in the broker is old news, not an event.
      { retained: false },
    );
  }

  private watchSchedule(
    ruleId: string,
    trigger: Extract<Trigger, { type: 'time' | 'cron' | 'sun' }>,
    index: number,
    fire: (event: TriggerEvent) => void,
  ): () => void {
    let cancel: CancelTimer | undefined;
    const arm = (after: number): void => {
      const at = nextOccurrence(trigger, after, this.config.location);
      if (at === undefined) {
        if (trigger.type === 'sun' && !this.config.location)
          this.logger.warn(`rule ${ruleId}: a sun trigger needs location.latitude and location.longitude in ninho.yaml`);
        return;
      }
      cancel = this.clock.setTimer(at, () => {
        const what =
          trigger.type === 'time' ? `it is ${trigger.at}` : trigger.type === 'cron' ? `cron ${trigger.expression}` : trigger.event;
        fire({ index, type: trigger.type, at, description: what });
        arm(at);
      });
    };
    arm(this.clock.now().getTime());
    return () => cancel?.();
  }

  private onEntityState(entityId: string, state: StateValue, at: number): void {
    const previous = this.lastStates.get(entityId);
    this.lastStates.set(entityId, state);
    const watchers = this.entityWatchers.get(entityId);
    if (!watchers) return;
    const commanded = this.commandCauses.get(entityId);
    if (commanded && this.causes.getStore() === undefined && Date.now() - commanded.at < COMMAND_CAUSE_MS) {
      this.causes.run(commanded.chain, () => this.judge(watchers, previous, state, at));
    } else {
      this.judge(watchers, previous, state, at);
    }
  }

  private judge(watchers: Set<Watcher>, previous: StateValue | undefined, state: StateValue, at: number): void {
    for (const watcher of [...watchers]) {
      const { trigger } = watcher;
      if (trigger.type !== 'state' && trigger.type !== 'numeric') continue;
      watcher.onVerdict(judgeEntityChange(trigger, watcher.index, previous, state, at, this.arming, watcher.key));
    }
  }

  private onAvailability(deviceId: string, online: boolean, at: number): void {
    for (const watcher of [...(this.deviceWatchers.get(deviceId) ?? [])]) {
      if (watcher.trigger.type === 'device') watcher.onVerdict(judgeAvailability(watcher.trigger, watcher.index, online, at));
    }
  }

  private onCoapHook({ path, method, payload }: { path: string; method: string; payload: string }): void {
    const at = this.clock.now().getTime();
    for (const entry of this.active.values()) {
      entry.rule.triggers.forEach((trigger, index) => {
        if (trigger.type !== 'coap' || trigger.path !== path || (trigger.method !== undefined && trigger.method !== method)) return;
        this.fire(entry, { index, type: 'coap', at, payload, description: `CoAP ${method} /hooks/${path}` });
      });
    }
  }

  private onTriggerVerdict(entry: ActiveRule, trigger: Trigger, index: number, verdict: Verdict): void {
    const forMs = 'for' in trigger ? trigger.for : undefined;
    if (verdict.kind === 'none') return;
    if (verdict.kind === 'unmatch') {
      const pending = entry.forWaits.get(index);
      if (pending) {
        this.cancelForWait(entry, index);
        // The value left before the wait was over: the next entry may start a new wait.
        if (trigger.type === 'numeric') this.arming.set(`${entry.rule.id}:${index}`, true);
      }
      return;
    }
    if (forMs === undefined) {
      this.fire(entry, verdict.event);
      return;
    }
    // Without `to`, every change starts the wait again; with it, the wait runs while the state stays within `to`.
    const restart = trigger.type === 'state' && trigger.to === undefined;
    if (entry.forWaits.has(index) && !restart) return;
    this.cancelForWait(entry, index);
    this.startForWait(entry, index, verdict.event, verdict.event.at + forMs);
  }

  // ── Durable `for:` waits ──────────────────────────────────────────────────────────────────

  private forTimerId(ruleId: string, index: number): string {
    return `${ruleId}:for:${index}`;
  }

  private startForWait(entry: ActiveRule, index: number, event: TriggerEvent, dueAt: number): void {
    const id = this.forTimerId(entry.rule.id, index);
    const data: ForTimerData = { index, event };
    const saved = this.repository.saveTimer({ id, ruleId: entry.rule.id, kind: 'for', dueAt, data });
    saved.catch((e: unknown) => this.logError(`the for: wait of ${id}`, e));
    this.armForWait(entry, index, event, dueAt, saved);
  }

  private armForWait(entry: ActiveRule, index: number, event: TriggerEvent, dueAt: number, saved: Promise<void>): void {
    const id = this.forTimerId(entry.rule.id, index);
    const cancel = this.clock.setTimer(dueAt, () => {
      entry.forWaits.delete(index);
      // Taking the row first means a crash right after can lose this firing, never repeat it.
      void saved
        .then(() => this.repository.takeTimer(id))
        .then((taken) => {
          if (taken && this.active.get(entry.rule.id) === entry)
            this.fire(entry, { ...event, at: dueAt, description: `${event.description}, for ${dueAt - event.at} ms` });
        })
        .catch((e: unknown) => this.logError(`the for: wait of ${id}`, e));
    });
    entry.forWaits.set(index, cancel);
  }

  private cancelForWait(entry: ActiveRule, index: number): void {
    const cancel = entry.forWaits.get(index);
    if (!cancel) return;
    cancel();
    entry.forWaits.delete(index);
    const id = this.forTimerId(entry.rule.id, index);
    void this.repository.takeTimer(id).catch((e: unknown) => this.logError(`the for: wait of ${id}`, e));
  }

  private restoreForWait(entry: ActiveRule, timer: TimerRecord): void {
    const { index, event } = timer.data as ForTimerData;
    const trigger = entry.rule.triggers[index];
    const state = trigger && 'entity' in trigger ? this.lastStates.get(trigger.entity) : undefined;
    const online = trigger?.type === 'device' ? this.devices.find(trigger.device)?.online : undefined;
    if (!trigger || !stillHolds(trigger, state, online)) {
      this.logger.log(`rule ${entry.rule.id}: a for: wait from before the restart no longer holds; dropped`);
      void this.repository.takeTimer(timer.id).catch((e: unknown) => this.logError(`the for: wait of ${timer.id}`, e));
      return;
    }
    if (trigger.type === 'numeric') this.arming.set(`${entry.rule.id}:${index}`, false);
    this.logger.log(`rule ${entry.rule.id}: resuming a for: wait, due ${new Date(timer.dueAt).toISOString()}`);
    this.armForWait(entry, index, event, timer.dueAt, Promise.resolve());
  }

  // ── Runs ──────────────────────────────────────────────────────────────────────────────────

  private fire(entry: ActiveRule, event: TriggerEvent): void {
    if (this.active.get(entry.rule.id) !== entry) return;
    const chain = this.causes.getStore() ?? [];
    if (chain.filter((id) => id === entry.rule.id).length >= LOOP_LIMIT) {
      const run = this.newRun(entry, event);
      run.refuse('loop', `stopped: the rule was triggered by its own actions ${LOOP_LIMIT} times in a row (${chain.join(' → ')})`);
      this.logger.error(`rule ${entry.rule.id} triggers itself (${chain.join(' → ')} → ${entry.rule.id}); that chain is stopped`);
      return;
    }
    const { mode, max } = entry.rule;
    const running = [...entry.runs].filter((r) => r.active);
    switch (mode) {
      case 'single':
        if (running.length > 0) {
          this.newRun(entry, event).refuse('skipped', 'mode single: a run is already under way');
          return;
        }
        break;
      case 'restart':
        for (const run of running) run.abort('mode restart: a new trigger started the rule again');
        break;
      case 'queued':
        if (running.length > 0) {
          if (running.length + entry.queue.length >= max)
            this.newRun(entry, event).refuse('dropped', `mode queued: ${max} runs already under way or waiting`);
          else entry.queue.push(event);
          return;
        }
        break;
      case 'parallel':
        if (running.length >= max) {
          this.newRun(entry, event).refuse('dropped', `mode parallel: ${max} runs already under way`);
          return;
        }
        break;
    }
    this.startRun(entry, event, true);
  }

  private newRun(entry: ActiveRule, event: TriggerEvent, id: string = newRunId(), startedAt = event.at, trace?: RunTrace): RuleRun {
    return new RuleRun(id, entry.rule, event, startedAt, this.environment(entry), trace);
  }

  private startRun(entry: ActiveRule, event: TriggerEvent, checkConditions: boolean): string {
    const run = this.newRun(entry, event, newRunId(), this.clock.now().getTime());
    entry.runs.add(run);
    const chain = [...(this.causes.getStore() ?? []), entry.rule.id];
    void this.causes.run(chain, () => run.start(checkConditions)).finally(() => this.afterRun(entry, run));
    return run.id;
  }

  private afterRun(entry: ActiveRule, run: RuleRun): void {
    if (run.active) return;
    entry.runs.delete(run);
    const next = entry.queue.shift();
    if (next && this.active.get(entry.rule.id) === entry) this.causes.run([], () => this.startRun(entry, next, true));
  }

  private restoreRun(entry: ActiveRule, timer: TimerRecord): void {
    const data = timer.data as ResumeData;
    const run = this.newRun(entry, data.trigger, data.runId, data.startedAt, data.trace);
    run.status = 'waiting';
    entry.runs.add(run);
    this.logger.log(`rule ${entry.rule.id}: resuming run ${run.id} paused at action ${data.path.join('.')}`);
    void this.causes.run([entry.rule.id], () => run.resume(data.path, timer.dueAt)).finally(() => this.afterRun(entry, run));
  }

  private environment(entry: ActiveRule): RunEnvironment {
    return {
      clock: this.clock,
      conditions: () => this.conditionContext(),
      command: (entityId, command) => {
        const chain = this.causes.getStore();
        if (chain) this.commandCauses.set(entityId, { chain, at: Date.now() });
        return this.devices.command(entityId, command);
      },
      publish: (topic, payload, options) => this.broker.publish(topic, payload, options),
      pause: (run, path, dueAt) => {
        const data: ResumeData = { runId: run.id, path, startedAt: run.startedAt, trigger: run.trigger, trace: run.trace };
        return this.repository.saveTimer({ id: `run:${run.id}`, ruleId: entry.rule.id, kind: 'resume', dueAt, data });
      },
      unpause: (run) => this.repository.takeTimer(`run:${run.id}`),
      waitForTrigger: (run, trigger, signal) => this.waitForTrigger(entry, run, trigger, signal),
      record: (record) => this.runLog.record(record),
    };
  }

  /** A wait action's trigger, watched only while the run waits (its `for:` is not kept across restarts). */
  private waitForTrigger(entry: ActiveRule, run: RuleRun, trigger: Trigger, signal: AbortSignal): Promise<TriggerEvent> {
    return new Promise((resolve) => {
      const cleanups: Array<() => void> = [];
      const stop = (): void => {
        for (const cleanup of cleanups.splice(0)) cleanup();
      };
      const fire = (event: TriggerEvent): void => {
        stop();
        resolve(event);
      };
      const key = `${entry.rule.id}:wait:${run.id}`;
      cleanups.push(() => this.arming.forget(key));
      switch (trigger.type) {
        case 'state':
        case 'numeric':
        case 'device': {
          const forMs = trigger.for;
          const onVerdict = (verdict: Verdict): void => {
            if (verdict.kind !== 'match') return;
            if (forMs === undefined) fire(verdict.event);
            else cleanups.push(this.clock.setTimer(verdict.event.at + forMs, () => fire(verdict.event)));
          };
          cleanups.push(this.addWatcher({ trigger, index: -1, key, onVerdict }));
          break;
        }
        case 'mqtt':
          cleanups.push(this.watchMqtt(trigger, -1, fire));
          break;
        case 'coap':
          cleanups.push(
            this.events.on('coap.hook', `rules wait ${run.id}`, ({ path, method, payload }) => {
              if (path === trigger.path && (trigger.method === undefined || trigger.method === method))
                fire({ index: -1, type: 'coap', at: this.clock.now().getTime(), payload, description: `CoAP ${method} /hooks/${path}` });
            }),
          );
          break;
        case 'time':
        case 'cron':
        case 'sun':
          cleanups.push(this.watchSchedule(entry.rule.id, trigger, -1, fire));
          break;
      }
      signal.addEventListener('abort', stop, { once: true });
    });
  }

  private conditionContext(): ConditionContext {
    return {
      state: (entityId) => this.lastStates.get(entityId),
      online: (deviceId) => this.devices.find(deviceId)?.online,
      now: this.clock.now(),
    };
  }

  private logError(what: string, error: unknown): void {
    this.logger.error(`could not store ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
