import { Global, Injectable, Module } from '@nestjs/common';

/** The wall clock, injected so that time-based logic can be tested with a fake one. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}

@Global()
@Module({ providers: [Clock], exports: [Clock] })
export class ClockModule {}
