import fs from 'node:fs';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';
import { NotFoundError } from '../devices/device.errors';
import { RuleEngine } from './rule-engine.service';
import { RuleRepository, type RunRecord, type StoredRule, type TimerRecord } from './rule.repository';
import { RuleSchema, slugify, type Rule } from './rule.schema';
import { RuleConflictError, RuleValidationError } from './rule.errors';
import { RunLogWriter } from './run-log.writer';

export interface RuleView {
  id: string;
  name: string;
  enabled: boolean;
  source: 'api' | 'file';
  /** The file a file rule comes from. */
  file?: string;
  runsInProgress: number;
  definition: Rule;
  createdAt: string;
  updatedAt: string;
}

interface FileRule {
  file: string;
  rule: Rule;
}

export interface FileProblem {
  file: string;
  path: string;
  message: string;
}

export interface ReloadReport {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  problems: FileProblem[];
}

interface LoadedRule {
  rule: Rule;
  enabled: boolean;
  source: 'api' | 'file';
  file?: string;
  createdAt: Date;
  updatedAt: Date;
}

const RULE_FILE = /\.(ya?ml|json)$/;

/** Every document of a YAML file; the first syntax error (with its line) is thrown. */
function readYamlDocuments(text: string): unknown[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return [];
  const error = documents.flatMap((d) => d.errors)[0];
  if (error) throw error;
  return documents.map((d) => d.toJS() as unknown);
}

function issues(error: z.ZodError, prefix = ''): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)', message: i.message }));
}

/**
 * The rules a user has: kept in the database, or read from <data dir>/rules/*.yaml. Every
 * change is validated in full before anything is stored or any running rule is touched.
 */
@Injectable()
export class RuleService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Rules');
  private readonly rules = new Map<string, LoadedRule>();

  constructor(
    private readonly repository: RuleRepository,
    private readonly engine: RuleEngine,
    private readonly runLog: RunLogWriter,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  get rulesDir(): string {
    return path.join(this.config.dataDir, 'rules');
  }

  async onApplicationBootstrap(): Promise<void> {
    const stored = await this.repository.loadRules();
    for (const row of stored) {
      if (row.source === 'file') continue;
      const parsed = RuleSchema.safeParse(row.definition);
      if (!parsed.success) {
        this.logger.error(
          `stored rule ${row.id} is not valid and stays off: ${issues(parsed.error)
            .map((e) => `${e.path}: ${e.message}`)
            .join('; ')}`,
        );
        continue;
      }
      this.rules.set(row.id, {
        rule: { ...parsed.data, id: row.id },
        enabled: row.enabled,
        source: 'api',
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      });
    }
    await this.loadFiles(stored);

    const timers = new Map<string, TimerRecord[]>();
    for (const timer of await this.repository.loadTimers()) timers.set(timer.ruleId, [...(timers.get(timer.ruleId) ?? []), timer]);
    this.engine.start();
    for (const [id, loaded] of this.rules) {
      if (loaded.enabled) this.engine.activate(loaded.rule, timers.get(id) ?? []);
      else if (timers.has(id)) await this.repository.deleteTimersOf(id);
    }
    const enabled = [...this.rules.values()].filter((r) => r.enabled).length;
    this.logger.log(`${this.rules.size} rules, ${enabled} enabled`);
  }

  /** Reads and checks every rule file, changing nothing: each problem comes back with its file and path. */
  private readFiles(): { found: FileRule[]; problems: FileProblem[] } {
    fs.mkdirSync(this.rulesDir, { recursive: true });
    const found: FileRule[] = [];
    const problems: FileProblem[] = [];
    for (const name of fs
      .readdirSync(this.rulesDir)
      .filter((n) => RULE_FILE.test(n))
      .sort()) {
      const file = path.join(this.rulesDir, name);
      let documents: unknown[];
      try {
        const text = fs.readFileSync(file, 'utf8');
        documents = name.endsWith('.json') ? [JSON.parse(text) as unknown] : readYamlDocuments(text);
      } catch (error) {
        problems.push({ file, path: '(file)', message: `cannot be read: ${error instanceof Error ? error.message : String(error)}` });
        continue;
      }
      // A file holds one rule, a list of rules, or several YAML documents.
      const inputs = documents.flatMap((d) => (Array.isArray(d) ? (d as unknown[]) : [d]));
      for (const [i, input] of inputs.entries()) {
        const prefix = inputs.length > 1 ? String(i) : '';
        const parsed = RuleSchema.safeParse(input);
        if (!parsed.success) {
          problems.push(...issues(parsed.error, prefix).map((issue) => ({ file, ...issue })));
          continue;
        }
        const id = parsed.data.id ?? slugify(parsed.data.name);
        if (this.rules.get(id)?.source === 'api' || found.some((f) => f.rule.id === id)) {
          problems.push({ file, path: [prefix, 'id'].filter(Boolean).join('.'), message: `the id "${id}" is already taken` });
          continue;
        }
        found.push({ file, rule: { ...parsed.data, id } });
      }
    }
    for (const problem of problems) this.logger.error(`rule file ${problem.file} is skipped: ${problem.path}: ${problem.message}`);
    return { found, problems };
  }

  /** At start: the files' rules join the stored ones; rows of files that are gone are deleted. */
  private async loadFiles(stored: StoredRule[]): Promise<void> {
    const { found, problems } = this.readFiles();
    for (const { file, rule } of found) {
      const row = stored.find((r) => r.id === rule.id);
      // Enabling or disabling a file rule from the dashboard sticks; the file gives the first value.
      const enabled = row?.enabled ?? rule.enabled;
      await this.repository.saveRule({ id: rule.id, name: rule.name, enabled, definition: rule, source: 'file' });
      this.rules.set(rule.id, { rule, enabled, source: 'file', file, createdAt: row?.createdAt ?? new Date(), updatedAt: new Date() });
    }
    // Rows (and run logs) of rules whose file is gone are deleted, unless some file is broken:
    // the rule may be in it, and comes back with its log once the file is mended.
    if (problems.length > 0) return;
    for (const row of stored) if (row.source === 'file' && !this.rules.has(row.id)) await this.repository.deleteRule(row.id);
  }

  /**
   * Reads the rule files again: new rules start, changed ones restart, rules of deleted files
   * stop. A file with errors changes nothing, so the rules it held before keep running.
   */
  async reloadFiles(): Promise<ReloadReport> {
    const { found, problems } = this.readFiles();
    const broken = new Set(problems.map((p) => p.file));
    const report: ReloadReport = { added: [], changed: [], removed: [], unchanged: [], problems };
    for (const { file, rule } of found) {
      const existing = this.rules.get(rule.id);
      if (existing && JSON.stringify(existing.rule) === JSON.stringify(rule) && existing.file === file) {
        report.unchanged.push(rule.id);
        continue;
      }
      const enabled = existing?.enabled ?? rule.enabled;
      await this.repository.saveRule({ id: rule.id, name: rule.name, enabled, definition: rule, source: 'file' });
      this.rules.set(rule.id, { rule, enabled, source: 'file', file, createdAt: existing?.createdAt ?? new Date(), updatedAt: new Date() });
      await this.engine.stopRule(rule.id, { keepDurable: false });
      if (enabled) this.engine.activate(rule);
      (existing ? report.changed : report.added).push(rule.id);
    }
    for (const [id, loaded] of [...this.rules]) {
      if (loaded.source !== 'file' || found.some((f) => f.rule.id === id) || (loaded.file !== undefined && broken.has(loaded.file)))
        continue;
      await this.engine.stopRule(id, { keepDurable: false });
      await this.repository.deleteRule(id);
      this.rules.delete(id);
      report.removed.push(id);
    }
    this.logger.log(
      `rule files reloaded: ${report.added.length} added, ${report.changed.length} changed, ${report.removed.length} removed, ${report.unchanged.length} unchanged, ${problems.length} problems`,
    );
    return report;
  }

  list(): RuleView[] {
    return [...this.rules.keys()].sort().map((id) => this.get(id));
  }

  get(id: string): RuleView {
    const loaded = this.find(id);
    return {
      id,
      name: loaded.rule.name,
      enabled: loaded.enabled,
      source: loaded.source,
      ...(loaded.file === undefined ? {} : { file: loaded.file }),
      runsInProgress: this.engine.runsInProgress(id),
      definition: loaded.rule,
      createdAt: loaded.createdAt.toISOString(),
      updatedAt: loaded.updatedAt.toISOString(),
    };
  }

  private find(id: string): LoadedRule {
    const loaded = this.rules.get(id);
    if (!loaded) throw new NotFoundError(`no rule "${id}"`);
    return loaded;
  }

  private parse(input: unknown): Rule & { explicitId: boolean } {
    const parsed = RuleSchema.safeParse(input);
    if (!parsed.success) throw new RuleValidationError('invalid rule', issues(parsed.error));
    return { ...parsed.data, id: parsed.data.id ?? slugify(parsed.data.name), explicitId: parsed.data.id !== undefined };
  }

  /** Checks a rule without storing it: the editor's live validation. */
  validate(input: unknown): Rule {
    const rule: Rule & { explicitId?: boolean } = this.parse(input);
    delete rule.explicitId;
    return rule;
  }

  async create(input: unknown): Promise<RuleView> {
    const { explicitId, ...rule } = this.parse(input);
    if (this.rules.has(rule.id)) {
      if (explicitId) throw new RuleConflictError(`a rule with the id "${rule.id}" exists`);
      let n = 2;
      while (this.rules.has(`${rule.id}-${n}`)) n++;
      rule.id = `${rule.id}-${n}`;
    }
    return this.store(rule, rule.enabled);
  }

  async replace(id: string, input: unknown): Promise<RuleView> {
    const existing = this.writable(id);
    const { explicitId, ...rule } = this.parse(input);
    if (explicitId && rule.id !== id)
      throw new RuleValidationError('invalid rule', [{ path: 'id', message: `must be "${id}", the rule's id` }]);
    return this.store({ ...rule, id }, rule.enabled, existing.createdAt);
  }

  async setEnabled(id: string, enabled: boolean): Promise<RuleView> {
    const loaded = this.find(id);
    await this.repository.saveRule({ id, name: loaded.rule.name, enabled, definition: loaded.rule, source: loaded.source });
    loaded.enabled = enabled;
    if (enabled) this.engine.activate(loaded.rule);
    else await this.engine.stopRule(id, { keepDurable: false });
    this.logger.log(`rule ${id} ${enabled ? 'enabled' : 'disabled'}`);
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    this.writable(id);
    await this.engine.stopRule(id, { keepDurable: false });
    await this.repository.deleteRule(id);
    this.rules.delete(id);
    this.logger.log(`rule ${id} removed`);
  }

  runNow(id: string): { ruleId: string; runId: string } {
    return { ruleId: id, runId: this.engine.runNow(this.find(id).rule) };
  }

  async runs(id: string, limit: number): Promise<RunRecord[]> {
    this.find(id);
    await this.runLog.flush();
    return this.repository.runs(id, limit);
  }

  private writable(id: string): LoadedRule {
    const loaded = this.find(id);
    if (loaded.source === 'file')
      throw new RuleConflictError(`rule ${id} comes from ${loaded.file ?? 'a file'}; change or delete the file instead`);
    return loaded;
  }

  private async store(rule: Rule, enabled: boolean, createdAt = new Date()): Promise<RuleView> {
    await this.repository.saveRule({ id: rule.id, name: rule.name, enabled, definition: rule, source: 'api' });
    this.rules.set(rule.id, { rule, enabled, source: 'api', createdAt, updatedAt: new Date() });
    // The old version's runs stop and its waits are dropped: they belong to actions that may be gone.
    await this.engine.stopRule(rule.id, { keepDurable: false });
    if (enabled) this.engine.activate(rule);
    this.logger.log(`rule ${rule.id} saved${enabled ? '' : ' (disabled)'}`);
    return this.get(rule.id);
  }
}
