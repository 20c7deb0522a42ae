import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { CoapService } from './coap.service';

@Module({ imports: [DevicesModule], providers: [CoapService], exports: [CoapService] })
export class CoapModule {}
