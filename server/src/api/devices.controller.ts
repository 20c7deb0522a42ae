import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DeviceService } from '../devices/device.service';
import { deviceSummary, type DeviceView } from '../devices/device.view';
import { RemoveDeviceQueryDto, RenameBodyDto } from './api.schemas';

@ApiTags('devices')
@Controller('devices')
export class DevicesController {
  constructor(private readonly devices: DeviceService) {}

  @Get()
  @ApiOperation({ summary: 'Every device with its entities and their current state' })
  list(): DeviceView[] {
    return this.devices.list().map(deviceSummary);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One device with its entities and their current state' })
  get(@Param('id') id: string): DeviceView {
    return deviceSummary(this.devices.get(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a device; the name survives the device registering again' })
  async rename(@Param('id') id: string, @Body() body: RenameBodyDto): Promise<DeviceView> {
    return deviceSummary(await this.devices.renameDevice(id, body.name));
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Remove a device. ?history=keep (default) keeps its readings, and it comes back with them if it registers again; purge deletes them',
  })
  async remove(@Param('id') id: string, @Query() query: RemoveDeviceQueryDto): Promise<{ id: string; history: 'keep' | 'purge' }> {
    await this.devices.remove(id, query.history === 'purge');
    return { id, history: query.history };
  }
}
