import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { parse as parseYaml } from 'yaml';
import type { RunRecord } from '../rules/rule.repository';
import { RuleValidationError } from '../rules/rule.errors';
import { RuleService, type ReloadReport, type RuleView } from '../rules/rule.service';
import { PatchRuleDto, RunsQueryDto } from './api.schemas';

/** A rule comes as JSON, or as YAML text in {"yaml": "…"} (the dashboard's editor). */
function ruleInput(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('yaml' in body)) return body;
  const { yaml } = body;
  if (typeof yaml !== 'string') throw new RuleValidationError('invalid rule', [{ path: 'yaml', message: 'expected YAML text' }]);
  try {
    return parseYaml(yaml, { prettyErrors: true }) as unknown;
  } catch (error) {
    throw new RuleValidationError('invalid rule', [{ path: 'yaml', message: error instanceof Error ? error.message : String(error) }]);
  }
}

@ApiTags('rules')
@Controller('rules')
export class RulesController {
  constructor(private readonly rules: RuleService) {}

  @Get()
  @ApiOperation({ summary: 'Every rule, from the API or from <data dir>/rules/*.yaml' })
  list(): RuleView[] {
    return this.rules.list();
  }

  @Get(':id')
  get(@Param('id') id: string): RuleView {
    return this.rules.get(id);
  }

  @Post()
  @ApiOperation({ summary: 'Create a rule (JSON, or {"yaml": "…"}); a bad rule is refused with each error and its path' })
  create(@Body() body: unknown): Promise<RuleView> {
    return this.rules.create(ruleInput(body));
  }

  @Post('reload')
  @HttpCode(200)
  @ApiOperation({ summary: 'Read <data dir>/rules/*.yaml again; a broken file changes nothing and is reported with its errors' })
  reload(): Promise<ReloadReport> {
    return this.rules.reloadFiles();
  }

  @Post('validate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Check a rule without saving it; answers with the rule as it would be stored, or 400 with each error' })
  validate(@Body() body: unknown): { valid: true; rule: unknown } {
    return { valid: true, rule: this.rules.validate(ruleInput(body)) };
  }

  @Put(':id')
  @ApiOperation({ summary: 'Replace a rule; its runs in progress stop and its waits are dropped' })
  replace(@Param('id') id: string, @Body() body: unknown): Promise<RuleView> {
    return this.rules.replace(id, ruleInput(body));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Enable or disable a rule' })
  setEnabled(@Param('id') id: string, @Body() body: PatchRuleDto): Promise<RuleView> {
    return this.rules.setEnabled(id, body.enabled);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    await this.rules.remove(id);
  }

  @Post(':id/run')
  @HttpCode(202)
  @ApiOperation({ summary: "Run a rule's actions now, without its triggers and conditions" })
  run(@Param('id') id: string): { ruleId: string; runId: string } {
    return this.rules.runNow(id);
  }

  @Get(':id/runs')
  @ApiOperation({ summary: 'The run log, newest first: trigger and payload, each condition, each action with result or error and timing' })
  runs(@Param('id') id: string, @Query() query: RunsQueryDto): Promise<RunRecord[]> {
    return this.rules.runs(id, query.limit);
  }
}
