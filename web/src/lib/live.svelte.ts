import type { DeviceView, InstallStage, LiveMessage } from './types';

export interface InstallProgress {
  installId: string;
  stage: InstallStage;
  message: string;
}

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

/**
 * The devices as /api/live tells them: a snapshot on every (re)connect, so a dropped
 * connection catches up by itself, then state and availability changes as they happen.
 */
export class LiveHome {
  devices = $state<DeviceView[]>([]);
  /** Steps of plugin installs, newest last, from whichever page or CLI started them. */
  installProgress = $state<InstallProgress[]>([]);
  connection = $state<ConnectionState>('connecting');
  /** Why the last connection failed, for the banner. */
  problem = $state<string | undefined>(undefined);
  private socket: WebSocket | undefined;
  private attempts = 0;
  private stopped = false;

  start(): void {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/live`);
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.connection = 'live';
      this.problem = undefined;
    };
    socket.onmessage = (event: MessageEvent<string>) => this.apply(JSON.parse(event.data) as LiveMessage);
    socket.onclose = () => {
      if (this.stopped) return;
      this.connection = 'reconnecting';
      this.problem = 'the connection to ninho dropped; reconnecting…';
      // 0.5 s, 1 s, 2 s… up to 10 s, so a restarting server is found again quickly.
      const delay = Math.min(10_000, 500 * 2 ** this.attempts++);
      setTimeout(() => this.start(), delay);
    };
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close();
  }

  private apply(message: LiveMessage): void {
    switch (message.type) {
      case 'snapshot':
        this.devices = message.devices;
        return;
      case 'device': {
        const index = this.devices.findIndex((d) => d.id === message.device.id);
        if (index >= 0) this.devices[index] = message.device;
        else this.devices.push(message.device);
        return;
      }
      case 'device-removed':
        this.devices = this.devices.filter((d) => d.id !== message.deviceId);
        return;
      case 'availability': {
        const device = this.devices.find((d) => d.id === message.deviceId);
        if (!device) return;
        device.online = message.online;
        if (message.online) device.lastSeen = message.at;
        return;
      }
      case 'state': {
        const device = this.devices.find((d) => d.id === message.deviceId);
        const entity = device?.entities.find((e) => e.id === message.entityId);
        if (!device || !entity) return;
        entity.state = message.state;
        entity.at = message.at;
        device.lastSeen = message.at;
        return;
      }
      case 'plugin-progress': {
        const { installId, stage, message: text } = message;
        this.installProgress = [...this.installProgress.slice(-49), { installId, stage, message: text }];
        return;
      }
    }
  }
}
