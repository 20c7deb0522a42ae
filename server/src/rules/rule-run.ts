import type { CancelTimer, Clock } from '../clock/clock';
import { evaluate, type ConditionContext, type ConditionResult } from './conditions';
import type { RunRecord, RunStatus } from './rule.repository';
import type { Action, Rule, Trigger } from './rule.schema';

/** What fired a run, as the run log shows it. */
export interface TriggerEvent {
  /** Index of the rule's trigger that fired; -1 for "run now". */
  index: number;
  type: Trigger['type'] | 'manual';
  at: number;
  description: string;
  entity?: string;
  from?: unknown;
  to?: unknown;
  device?: string;
  topic?: string;
  payload?: string;
}

export interface ActionStep {
  path: string;
  type: Action['type'];
  startedAt: number;
  finishedAt?: number;
  result?: string;
  error?: string;
}

export interface RunTrace {
  conditions: ConditionResult[];
  actions: ActionStep[];
  /** Why the run ended as it did, when that is not plain success. */
  reason?: string;
}

/** Where an action sits: [2, 'then', 0] is the first `then` action of the third action. */
export type ActionPath = Array<number | string>;

/** What a run needs from the rest of the server; the engine provides it. */
export interface RunEnvironment {
  clock: Clock;
  conditions(): ConditionContext;
  command(entityId: string, command: string | number | boolean): Promise<void>;
  publish(topic: string, payload: string, options: { qos: 0 | 1 | 2; retain: boolean }): Promise<void>;
  /** Stores a paused run so that a restart resumes it; the engine keys it by run id. */
  pause(run: RuleRun, path: ActionPath, dueAt: number): Promise<void>;
  /** Removes the stored pause; false when it was already gone (aborted meanwhile). */
  unpause(run: RuleRun): Promise<boolean>;
  /** Resolves when the trigger fires, or never; the signal cancels the wait. */
  waitForTrigger(run: RuleRun, trigger: Trigger, signal: AbortSignal): Promise<TriggerEvent>;
  record(run: RunRecord): void;
}

/** The run was aborted (restart mode, rule removed): nothing more to record. */
class RunAborted extends Error {}
/** The run ends early but well, e.g. after a wait timed out. */
class RunStopped extends Error {}

export class RuleRun {
  status: RunStatus = 'running';
  finishedAt: number | null = null;
  private readonly abortController = new AbortController();

  constructor(
    readonly id: string,
    readonly rule: Rule,
    readonly trigger: TriggerEvent,
    readonly startedAt: number,
    private readonly env: RunEnvironment,
    readonly trace: RunTrace = { conditions: [], actions: [] },
  ) {}

  get active(): boolean {
    return this.status === 'running' || this.status === 'waiting';
  }

  toRecord(): RunRecord {
    return {
      id: this.id,
      ruleId: this.rule.id,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      status: this.status,
      trigger: this.trigger,
      trace: this.trace,
    };
  }

  /** Ends a run that never starts (skipped, dropped, loop) with the reason in its log. */
  refuse(status: Extract<RunStatus, 'skipped' | 'dropped' | 'loop'>, reason: string): void {
    this.status = status;
    this.trace.reason = reason;
    this.finish();
  }

  /** Checks the conditions (unless told not to), then runs the actions. */
  async start(checkConditions = true): Promise<void> {
    if (checkConditions) {
      const context = this.env.conditions();
      const passed = this.rule.conditions.map((c, i) => evaluate(c, context, `conditions.${i}`, this.trace.conditions));
      if (!passed.every(Boolean)) {
        this.status = 'not-met';
        this.finish();
        return;
      }
    }
    this.env.record(this.toRecord());
    await this.guard(() => this.sequence(this.rule.actions, [], 0));
  }

  /** Carries on a run that was paused in a delay or a wait when the server stopped. */
  async resume(path: ActionPath, dueAt: number): Promise<void> {
    await this.guard(async () => {
      const action = this.actionAt(path);
      let proceed = true;
      if (action.type === 'delay') await this.sleepUntil(dueAt);
      else if (action.type === 'wait') {
        const step = this.trace.actions.find((s) => s.path === path.join('.') && s.finishedAt === undefined);
        proceed = await this.waitStep(action, dueAt, step);
      }
      await this.unpause();
      if (!proceed) throw new RunStopped(`the wait at ${path.join('.')} timed out`);
      this.closeStep(path, 'resumed after a restart');
      await this.continueAfter(path);
    });
  }

  /** The server is stopping: the run ends here and resumes from its stored pause at the next start. */
  abortQuietly(): void {
    this.abortController.abort();
  }

  abort(reason: string): void {
    if (!this.active) return;
    this.status = 'aborted';
    this.trace.reason = reason;
    this.abortController.abort();
    this.finish();
  }

  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
      if (this.active) {
        this.status = 'done';
        this.finish();
      }
    } catch (error) {
      if (error instanceof RunAborted || !this.active) return;
      this.status = error instanceof RunStopped ? 'done' : 'failed';
      this.trace.reason = error instanceof Error ? error.message : String(error);
      this.finish();
    }
  }

  private finish(): void {
    this.finishedAt = this.env.clock.now().getTime();
    this.env.record(this.toRecord());
  }

  private async sequence(actions: Action[], prefix: ActionPath, from: number): Promise<void> {
    for (let i = from; i < actions.length; i++) {
      const action = actions[i];
      if (action) await this.execute(action, [...prefix, i]);
    }
  }

  /** After a pause at `path`: the rest of its list, then the rest of each enclosing list. */
  private async continueAfter(path: ActionPath): Promise<void> {
    const frames: Array<{ list: Action[]; prefix: ActionPath; index: number }> = [];
    let list = this.rule.actions;
    for (let k = 0; k < path.length; k += 2) {
      const index = Number(path[k]);
      frames.push({ list, prefix: path.slice(0, k), index });
      const branch = path[k + 1];
      const action = list[index];
      if (branch === undefined || !action) break;
      list = childList(action, String(branch));
    }
    for (const frame of frames.reverse()) await this.sequence(frame.list, frame.prefix, frame.index + 1);
  }

  private actionAt(path: ActionPath): Action {
    let list = this.rule.actions;
    let action: Action | undefined;
    for (let k = 0; k < path.length; k += 2) {
      action = list[Number(path[k])];
      if (!action) break;
      const branch = path[k + 1];
      if (branch !== undefined) list = childList(action, String(branch));
    }
    if (!action) throw new Error(`the rule has no action at ${path.join('.')}; it was edited while the run was paused`);
    return action;
  }

  private openStep(action: Action, path: ActionPath): ActionStep {
    const step: ActionStep = { path: path.join('.'), type: action.type, startedAt: this.env.clock.now().getTime() };
    this.trace.actions.push(step);
    return step;
  }

  private closeStep(path: ActionPath, result: string): void {
    const step = this.trace.actions.findLast((s) => s.path === path.join('.'));
    if (step && step.finishedAt === undefined) {
      step.finishedAt = this.env.clock.now().getTime();
      step.result = step.result ? `${step.result}; ${result}` : result;
    }
  }

  private async execute(action: Action, path: ActionPath): Promise<void> {
    if (!this.active) throw new RunAborted();
    const step = this.openStep(action, path);
    const done = (result: string): void => {
      step.finishedAt = this.env.clock.now().getTime();
      step.result = result;
    };
    try {
      switch (action.type) {
        case 'command':
          await this.env.command(action.entity, action.command);
          done(`${action.entity} accepted ${JSON.stringify(action.command)}`);
          return;
        case 'publish':
          await this.env.publish(action.topic, action.payload, { qos: action.qos, retain: action.retain });
          done(`published ${action.payload.length} bytes to ${action.topic}`);
          return;
        case 'webhook':
          done(await this.webhook(action));
          return;
        case 'delay': {
          const dueAt = this.env.clock.now().getTime() + action.duration;
          step.result = `until ${new Date(dueAt).toISOString()}`;
          await this.pause(path, dueAt);
          await this.sleepUntil(dueAt);
          await this.unpause();
          done(`waited ${action.duration} ms`);
          return;
        }
        case 'wait': {
          const dueAt = this.env.clock.now().getTime() + action.timeout;
          await this.pause(path, dueAt);
          const proceed = await this.waitStep(action, dueAt, step);
          await this.unpause();
          if (!proceed) throw new RunStopped(`the wait at ${path.join('.')} timed out`);
          return;
        }
        case 'if': {
          const passed = evaluate(action.condition, this.env.conditions(), `actions.${path.join('.')}.condition`, this.trace.conditions);
          done(passed ? 'then' : 'else');
          await this.sequence(passed ? action.then : action.else, [...path, passed ? 'then' : 'else'], 0);
          return;
        }
        case 'choose': {
          const context = this.env.conditions();
          const chosen = action.choices.findIndex((choice, i) =>
            evaluate(choice.condition, context, `actions.${path.join('.')}.choices.${i}.condition`, this.trace.conditions),
          );
          const choice = action.choices[chosen];
          done(choice ? `choice ${chosen}` : 'default');
          await this.sequence(choice ? choice.actions : action.default, [...path, choice ? `choice-${chosen}` : 'default'], 0);
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof RunAborted) && step.finishedAt === undefined) {
        step.finishedAt = this.env.clock.now().getTime();
        step.error = error instanceof Error ? error.message : String(error);
      }
      throw error;
    }
  }

  /** Waits for the trigger until dueAt; true when it fired, or on a timeout with continueOnTimeout. */
  private async waitStep(action: Extract<Action, { type: 'wait' }>, dueAt: number, step?: ActionStep): Promise<boolean> {
    const settled = new AbortController();
    const signal = AbortSignal.any([this.abortController.signal, settled.signal]);
    const fired = this.env.waitForTrigger(this, action.trigger, signal);
    const timedOut = this.sleepUntil(dueAt, signal).then(() => undefined);
    // The loser is cancelled; race() has handled its rejection already.
    const event = await Promise.race([fired, timedOut]).finally(() => settled.abort());
    if (!this.active) throw new RunAborted();
    if (step) {
      step.finishedAt = this.env.clock.now().getTime();
      step.result = event ? `the trigger fired: ${event.description}` : `timed out after ${action.timeout} ms`;
    }
    return event !== undefined || action.continueOnTimeout;
  }

  private async pause(path: ActionPath, dueAt: number): Promise<void> {
    await this.env.pause(this, path, dueAt);
    this.status = 'waiting';
    this.env.record(this.toRecord());
  }

  private async unpause(): Promise<void> {
    if (!(await this.env.unpause(this))) throw new RunAborted();
    this.status = 'running';
  }

  private sleepUntil(at: number, signal: AbortSignal = this.abortController.signal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new RunAborted());
        return;
      }
      const cancel: CancelTimer = this.env.clock.setTimer(at, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        cancel();
        reject(new RunAborted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async webhook(action: Extract<Action, { type: 'webhook' }>): Promise<string> {
    const body = action.body === undefined || action.method === 'GET' ? undefined : JSON.stringify(action.body);
    const response = await fetch(action.url, {
      method: action.method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...action.headers },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.any([this.abortController.signal, AbortSignal.timeout(action.timeout)]),
    }).catch((error: unknown) => {
      if (this.abortController.signal.aborted) throw new RunAborted();
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new Error(`${action.method} ${action.url} failed${error instanceof Error ? ` (${error.message}${cause})` : ''}`);
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`${action.method} ${action.url} answered ${response.status}`);
    return `${action.method} ${action.url} answered ${response.status}`;
  }
}

function childList(action: Action, branch: string): Action[] {
  if (action.type === 'if') return branch === 'then' ? action.then : action.else;
  if (action.type === 'choose') {
    if (branch === 'default') return action.default;
    return action.choices[Number(branch.replace('choice-', ''))]?.actions ?? [];
  }
  return [];
}
