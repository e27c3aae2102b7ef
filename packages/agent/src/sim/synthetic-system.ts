/**
 * A DeviceSystem for the simulator and tests: metrics from settable values (with a little noise
 * if asked), a fixed socket list, and a reboot that only counts (the simulator restarts the agent).
 */
import type { DeviceMetrics } from '@bulwark/protocol';
import type { DeviceSystem, SocketInfo } from '../ports.js';

/** Settable device figures. */
export interface SyntheticFigures {
  cpuPercent: number;
  memoryTotal: number;
  memoryAvailable: number;
  diskTotal: number;
  diskAvailable: number;
}

/** A simulated device. */
export class SyntheticSystem implements DeviceSystem {
  readonly figures: SyntheticFigures = {
    cpuPercent: 5,
    memoryTotal: 512 * 1024 * 1024,
    memoryAvailable: 384 * 1024 * 1024,
    diskTotal: 4 * 1024 ** 3,
    diskAvailable: 3 * 1024 ** 3,
  };
  socketList: SocketInfo[] = [];
  reboots = 0;
  /** Called on reboot (the simulator restarts the agent). */
  onReboot: (() => Promise<void>) | undefined;
  private readonly bootedAt = Date.now();
  private rx = 0;
  private tx = 0;

  constructor(private readonly noise: () => number = () => 0) {}

  metrics(): Promise<DeviceMetrics> {
    const f = this.figures;
    this.rx += 1000;
    this.tx += 500;
    return Promise.resolve({
      at: new Date().toISOString(),
      cpuPercent: Math.min(100, Math.max(0, f.cpuPercent + this.noise())),
      memory: { totalBytes: f.memoryTotal, availableBytes: f.memoryAvailable },
      disk: { totalBytes: f.diskTotal, availableBytes: f.diskAvailable },
      uptimeSeconds: Math.round((Date.now() - this.bootedAt) / 1000),
      network: { rxBytes: this.rx, txBytes: this.tx },
      listeningPorts: this.socketList.filter((s) => s.state === 'listen').map((s) => s.localPort),
      connections: this.socketList.filter((s) => s.state === 'established').length,
    });
  }

  sockets(): Promise<SocketInfo[]> {
    return Promise.resolve(this.socketList.slice());
  }

  async reboot(): Promise<void> {
    this.reboots++;
    await this.onReboot?.();
  }
}
