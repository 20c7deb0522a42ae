import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { BrokerService } from '../broker/broker.service';
import { CoapService } from '../coap/coap.service';
import { DeviceService } from '../devices/device.service';
import { HistoryWriter } from '../history/history.writer';

@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly broker: BrokerService,
    private readonly coap: CoapService,
    private readonly devices: DeviceService,
    private readonly history: HistoryWriter,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness and a few counters; "degraded" while history cannot be written' })
  health() {
    const historyFailure = this.history.lastFailure;
    return {
      status: historyFailure === undefined ? ('ok' as const) : ('degraded' as const),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      mqtt: { port: this.broker.port, connectedClients: this.broker.connectedClients },
      coap: { port: this.coap.port },
      devices: this.devices.list().length,
      history: {
        pendingRows: this.history.pendingRows,
        writtenRows: this.history.writtenRows,
        ...(historyFailure !== undefined && { failure: historyFailure }),
      },
    };
  }
}
