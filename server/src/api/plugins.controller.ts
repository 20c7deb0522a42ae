import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { PluginHostService, type PluginInfo } from '../plugins/plugin-host.service';

@ApiTags('plugins')
@Controller('plugins')
export class PluginsController {
  constructor(private readonly host: PluginHostService) {}

  @Get()
  @ApiOperation({ summary: 'Every plugin found, with its status and, when it failed, why' })
  list(): PluginInfo[] {
    return this.host.list();
  }
}
