import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module';
import { CoapModule } from '../coap/coap.module';
import { DevicesModule } from '../devices/devices.module';
import { HistoryModule } from '../history/history.module';
import { PluginsModule } from '../plugins/plugins.module';
import { RulesModule } from '../rules/rules.module';
import { DevicesController } from './devices.controller';
import { EntitiesController } from './entities.controller';
import { HealthController } from './health.controller';
import { LiveGateway } from './live.gateway';
import { PluginsController } from './plugins.controller';
import { RulesController } from './rules.controller';
import { SerialController } from './serial.controller';
import { TestClockController } from './test-clock.controller';
import { WebSocketRouter } from './websocket-router';

@Module({
  imports: [BrokerModule, CoapModule, DevicesModule, HistoryModule, PluginsModule, RulesModule],
  controllers: [
    HealthController,
    DevicesController,
    EntitiesController,
    PluginsController,
    SerialController,
    RulesController,
    TestClockController,
  ],
  providers: [LiveGateway, WebSocketRouter],
})
export class ApiModule {}
