import { Injectable, Logger } from '@nestjs/common';
import type { EventName, NinhoEvents } from './event-map';

type Listener<K extends EventName> = (payload: NinhoEvents[K]) => void;

interface Registration {
  name: string;
  listener: (payload: never) => void;
}

/**
 * A synchronous, typed event bus. Each listener runs in its own try/catch and a
 * failure is logged with the listener's name, so one bad consumer never stops
 * the others (Zigbee2MQTT's lesson, shared/STYLE.md).
 */
@Injectable()
export class EventBus {
  private readonly logger = new Logger('EventBus');
  private readonly listeners = new Map<EventName, Registration[]>();

  on<K extends EventName>(event: K, name: string, listener: Listener<K>): () => void {
    const registration: Registration = { name, listener };
    const list = this.listeners.get(event) ?? [];
    list.push(registration);
    this.listeners.set(event, list);
    return () => {
      const current = this.listeners.get(event) ?? [];
      this.listeners.set(
        event,
        current.filter((r) => r !== registration),
      );
    };
  }

  emit<K extends EventName>(event: K, payload: NinhoEvents[K]): void {
    for (const { name, listener } of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<K>)(payload);
      } catch (error) {
        this.logger.error(`listener "${name}" failed on ${event}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
