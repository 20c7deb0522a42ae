import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG } from '../config/config.module';
import type { Config } from '../config/config.schema';

export interface BrokerClientInfo {
  id: string;
  username: string | undefined;
}

export interface ConnectDecision {
  allowed: boolean;
  /** CONNACK return code when refused: 2 identifier rejected, 4 bad credentials, 5 not authorized. */
  returnCode?: 2 | 4 | 5;
  reason?: string;
}

/**
 * The one place that decides who may connect, publish and subscribe. For now every
 * client is allowed (anonymous mode, warned about at start); the security issue
 * replaces these bodies with device credentials and ACLs.
 */
@Injectable()
export class BrokerAuthService {
  private readonly logger = new Logger('BrokerAuth');

  constructor(@Inject(CONFIG) private readonly config: Config) {
    if (config.mqtt.allowAnonymous) {
      this.logger.warn('MQTT broker allows anonymous clients: any client on the network may publish and subscribe');
    }
  }

  authenticateConnect(client: BrokerClientInfo, _password: Buffer | undefined): ConnectDecision {
    if (this.config.mqtt.allowAnonymous) return { allowed: true };
    this.logger.warn(`refused ${client.id}: anonymous access is disabled and no credentials store exists yet`);
    return { allowed: false, returnCode: 5, reason: 'not authorized' };
  }

  mayPublish(_client: BrokerClientInfo, _topic: string): boolean {
    return true;
  }

  maySubscribe(_client: BrokerClientInfo, _filter: string): boolean {
    return true;
  }
}
