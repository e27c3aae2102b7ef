/**
 * The agent's seams: everything it touches outside its own logic goes through one of these ports,
 * so the same agent code runs on a Linux device (files, /proc, a real reboot) and, many times over,
 * inside the simulator (memory, synthetic metrics, a reboot that restarts the in-process agent).
 */
import type { DeviceEvent, DeviceMetrics, TwinValue } from '@bulwark/protocol';

/**
 * The agent's persistent storage: a directory on a device (`--state-dir`), a Map in the simulator.
 * Names are relative paths with `/` separators (e.g. `identity/key.pem`, `queue/00000042`).
 */
export interface AgentFiles {
  read(name: string): Promise<Uint8Array | undefined>;
  /**
   * Replaces the file atomically (temp file, fsync, rename): after a crash at any point the file is
   * either the old or the new content. `secret` files are created 0600. A full disk rejects with an
   * error whose `code` is `ENOSPC` and leaves the old content in place.
   */
  write(name: string, data: Uint8Array, opts?: { secret?: boolean }): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(name: string): Promise<void>;
  /** The names under a prefix (`queue/`), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes everything (factory reset). */
  wipe(): Promise<void>;
}

/** One TCP connection or listening socket of the device, as read from `/proc/net/tcp{,6}`. */
export interface SocketInfo {
  state: 'listen' | 'established';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** What the agent asks of the device it runs on. */
export interface DeviceSystem {
  /** Health snapshot (on Linux: from /proc and statfs of the state dir). */
  metrics(): Promise<DeviceMetrics>;
  /** Listening and established TCP sockets (on Linux: /proc/net/tcp and tcp6). */
  sockets(): Promise<SocketInfo[]>;
  /** Reboots the device. The agent has persisted its state and answered before calling this. */
  reboot(): Promise<void>;
}

/** Milliseconds since the epoch; a test or the simulator may move it. */
export interface AgentClock {
  now(): number;
}

/**
 * What the local management port needs from the running agent (`LocalPortServer` is given one).
 * Parameters are addressed by dotted path into the agent's applied configuration (`logging.level`).
 */
export interface LocalPortHost {
  readonly deviceId: string;
  readonly orgId: string;
  /** The device's key and certificate chain (PEM), to serve TLS with. */
  tlsCredentials(): { key: string; cert: string };
  /** The CA certificates (PEM) whose key signs access tickets: the org's issuing CA. */
  ticketIssuers(): string[];
  /** Ticket ids (jti) revoked by the hub (backup tickets), as last synced through the twin. */
  revokedTickets(): ReadonlySet<string>;
  getParam(path: string): TwinValue | undefined;
  /** Every parameter, flattened to dotted paths. */
  listParams(): Record<string, TwinValue>;
  /** Applies one value through the same handlers as the twin; rejects with a readable message. */
  setParam(path: string, value: TwinValue): Promise<void>;
  reboot(): Promise<void>;
  factoryReset(): Promise<void>;
  /** Records an event (local session opened/closed/refused); sent to the hub when connected. */
  report(event: DeviceEvent): void;
  files: AgentFiles;
  clock: AgentClock;
}
