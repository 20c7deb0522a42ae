import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module';
import { DevicesModule } from '../devices/devices.module';
import { PluginHostService } from './plugin-host.service';
import { PluginInstallerService } from './plugin-installer.service';
import { PluginSettingsRepository } from './plugin-settings.repository';

@Module({
  imports: [BrokerModule, DevicesModule],
  providers: [PluginHostService, PluginSettingsRepository, PluginInstallerService],
  exports: [PluginHostService, PluginInstallerService],
})
export class PluginsModule {}
