import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { DeviceService } from '../devices/device.service';
import { deviceSummary, type DeviceView } from '../devices/device.view';

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
}
