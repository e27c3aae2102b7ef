/**
 * AgentFiles in memory, for the simulator and tests. It can also play a small disk: with
 * `capacityBytes`, a write that would exceed it fails with `ENOSPC` and leaves the old content.
 */
import type { AgentFiles } from '../ports.js';
import { checkName } from './names.js';

/** In-memory storage; each write replaces the whole value, as DirFiles does atomically. */
export class MemoryFiles implements AgentFiles {
  private readonly data = new Map<string, { bytes: Uint8Array; secret: boolean }>();

  constructor(private readonly opts: { capacityBytes?: number } = {}) {}

  /** Bytes stored in total. */
  get usedBytes(): number {
    let n = 0;
    for (const v of this.data.values()) n += v.bytes.byteLength;
    return n;
  }

  /** Changes the simulated disk size (undefined = unlimited). */
  setCapacity(bytes: number | undefined): void {
    if (bytes === undefined) delete this.opts.capacityBytes;
    else this.opts.capacityBytes = bytes;
  }

  /** Whether a file was written as a secret (the 0600 equivalent). */
  isSecret(name: string): boolean {
    return this.data.get(name)?.secret ?? false;
  }

  read(name: string): Promise<Uint8Array | undefined> {
    checkName(name);
    const v = this.data.get(name);
    return Promise.resolve(v === undefined ? undefined : v.bytes.slice());
  }

  write(name: string, data: Uint8Array, opts: { secret?: boolean } = {}): Promise<void> {
    checkName(name);
    const cap = this.opts.capacityBytes;
    if (cap !== undefined) {
      // Like an atomic write on a real disk, the new copy needs room before the old one goes.
      if (this.usedBytes + data.byteLength > cap) {
        const err = new Error(`ENOSPC: no space left on device, write '${name}'`) as Error & {
          code: string;
        };
        err.code = 'ENOSPC';
        return Promise.reject(err);
      }
    }
    this.data.set(name, { bytes: data.slice(), secret: opts.secret ?? false });
    return Promise.resolve();
  }

  remove(name: string): Promise<void> {
    checkName(name);
    this.data.delete(name);
    return Promise.resolve();
  }

  list(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.data.keys()].filter((n) => n.startsWith(prefix)).sort());
  }

  wipe(): Promise<void> {
    this.data.clear();
    return Promise.resolve();
  }
}
