import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ZodValidationPipe } from 'nestjs-zod';
import { ApiModule } from './api/api.module';
import { ErrorFilter } from './api/error.filter';
import { BrokerModule } from './broker/broker.module';
import { ClockModule } from './clock/clock';
import { CoapModule } from './coap/coap.module';
import { ConfigModule } from './config/config.module';
import type { Config } from './config/config.schema';
import { DatabaseModule } from './database/database.module';
import { DevicesModule } from './devices/devices.module';
import { EventsModule } from './events/events.module';
import { HistoryModule } from './history/history.module';
import { PluginsModule } from './plugins/plugins.module';

@Module({})
export class AppModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule,
        EventsModule,
        DatabaseModule,
        DevicesModule,
        HistoryModule,
        BrokerModule,
        CoapModule,
        PluginsModule,
        ApiModule,
      ],
      providers: [
        { provide: APP_PIPE, useClass: ZodValidationPipe },
        { provide: APP_FILTER, useClass: ErrorFilter },
      ],
    };
  }
}
