import { Module } from '@nestjs/common';
import { BrokerAuthService } from '../auth/broker-auth.service';
import { BrokerService } from './broker.service';

@Module({ providers: [BrokerAuthService, BrokerService], exports: [BrokerService] })
export class BrokerModule {}
