import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module';
import { DevicesModule } from '../devices/devices.module';
import { RuleEngine } from './rule-engine.service';
import { RuleRepository } from './rule.repository';
import { RuleService } from './rule.service';
import { RunLogWriter } from './run-log.writer';

@Module({
  imports: [BrokerModule, DevicesModule],
  providers: [RuleRepository, RunLogWriter, RuleEngine, RuleService],
  exports: [RuleService],
})
export class RulesModule {}
