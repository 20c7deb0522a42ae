import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Clock } from '../clock/clock';
import { DeviceService } from '../devices/device.service';
import { parseBucket } from '../history/bucket';
import { HistoryService, type HistoryResult } from '../history/history.service';
import { entityState, type EntityView } from '../devices/device.view';
import { CommandBodyDto, HistoryQueryDto, RenameBodyDto } from './api.schemas';

const DAY_MS = 86_400_000;

@ApiTags('entities')
@Controller('entities')
export class EntitiesController {
  constructor(
    private readonly devices: DeviceService,
    private readonly history: HistoryService,
    private readonly clock: Clock,
  ) {}

  @Get(':id/history')
  @ApiOperation({ summary: 'Raw readings, or {t,min,max,avg} per bucket such as 1m, 1h or 1d' })
  async getHistory(@Param('id') id: string, @Query() query: HistoryQueryDto): Promise<HistoryResult> {
    const to = query.to ?? this.clock.now().getTime();
    const from = query.from ?? to - DAY_MS;
    const bucketMs = query.bucket === undefined ? undefined : parseBucket(query.bucket);
    return this.history.query(id, { from, to, limit: query.limit, ...(bucketMs === undefined ? {} : { bucketMs }) });
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename an entity' })
  async rename(@Param('id') id: string, @Body() body: RenameBodyDto): Promise<EntityView> {
    return entityState(await this.devices.renameEntity(id, body.name));
  }

  @Post(':id/command')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a command to an entity; answers once the device accepted it' })
  async command(
    @Param('id') id: string,
    @Body() body: CommandBodyDto,
  ): Promise<{ entityId: string; command: string | number | boolean; status: 'accepted' }> {
    await this.devices.command(id, body.command);
    return { entityId: id, command: body.command, status: 'accepted' };
  }
}
