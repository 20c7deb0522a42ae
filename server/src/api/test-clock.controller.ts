import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Clock, ManualClock } from '../clock/clock';
import { NotFoundError } from '../devices/device.errors';
import { AdvanceClockDto } from './api.schemas';

/** Moves the ManualClock of a server started with NINHO_TEST_CLOCK; answers 404 otherwise. */
@ApiExcludeController()
@Controller('test/clock')
export class TestClockController {
  constructor(private readonly clock: Clock) {}

  private manual(): ManualClock {
    if (!(this.clock instanceof ManualClock)) throw new NotFoundError('no test clock: the server runs on real time');
    return this.clock;
  }

  @Get()
  now(): { now: number; pendingTimers: number } {
    const clock = this.manual();
    return { now: clock.now().getTime(), pendingTimers: clock.pendingTimers };
  }

  @Post()
  @HttpCode(200)
  async advance(@Body() body: AdvanceClockDto): Promise<{ now: number; pendingTimers: number }> {
    const clock = this.manual();
    await clock.advance(body.advanceMs);
    return { now: clock.now().getTime(), pendingTimers: clock.pendingTimers };
  }
}
