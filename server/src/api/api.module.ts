import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module';
import { CoapModule } from '../coap/coap.module';
import { DevicesModule } from '../devices/devices.module';
import { HistoryModule } from '../history/history.module';
import { DevicesController } from './devices.controller';
import { EntitiesController } from './entities.controller';
import { HealthController } from './health.controller';
import { LiveGateway } from './live.gateway';
import { WebSocketRouter } from './websocket-router';

@Module({
  imports: [BrokerModule, CoapModule, DevicesModule, HistoryModule],
  controllers: [HealthController, DevicesController, EntitiesController],
  providers: [LiveGateway, WebSocketRouter],
})
export class ApiModule {}
