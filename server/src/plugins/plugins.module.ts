import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module';
import { DevicesModule } from '../devices/devices.module';
import { PluginHostService } from './plugin-host.service';

@Module({ imports: [BrokerModule, DevicesModule], providers: [PluginHostService], exports: [PluginHostService] })
export class PluginsModule {}
