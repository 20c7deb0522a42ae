import { Module } from '@nestjs/common';
import { DeviceRepository } from './device.repository';
import { DeviceService } from './device.service';

@Module({ providers: [DeviceRepository, DeviceService], exports: [DeviceService] })
export class DevicesModule {}
