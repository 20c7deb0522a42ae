import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { HistoryRepository } from './history.repository';
import { HistoryService } from './history.service';
import { HistoryWriter } from './history.writer';

@Module({
  imports: [DevicesModule],
  providers: [HistoryRepository, HistoryWriter, HistoryService],
  exports: [HistoryService, HistoryWriter],
})
export class HistoryModule {}
