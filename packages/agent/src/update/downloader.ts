/**
 * The download step of an install: streams the image into the target slot through the Installer,
 * from the durably written offset, in writes of WRITE_BYTES (each fsync'd, then the offset
 * persisted). A dropped connection or a hub that is down is retried with full-jitter backoff from
 * the persisted offset, until the job's deadline or MAX_ATTEMPTS; a refusal that retrying cannot
 * fix (the image's length differs from the signed metadata, 404) fails the install at once.
 */
import type { ChunkIndex } from '@bulwark/firmware';
import { Backoff } from '../runtime/backoff.js';
import type { imageSource } from './delta.js';
import { UpdateError, type InstallStatus } from './install-record.js';
import type { Installer } from './installer.js';
import {
  DownloadError,
  httpsRangeFetcher,
  type DownloadTrust,
  type RangeFetcher,
} from './range-fetch.js';
import type { ChunkStash } from './scratch.js';
import type { SlotStore } from './slots.js';

/** Bytes per durable write: large enough that fsyncs do not dominate, small enough to lose little. */
const WRITE_BYTES = 256 * 1024;
/** Connection attempts for one download before it fails (besides the deadline). */
const MAX_ATTEMPTS = 200;

/** What a download needs. */
export interface DownloaderDeps {
  installer: Installer;
  slots: SlotStore;
  url: string;
  trust: () => DownloadTrust | undefined;
  /** Where the bytes come from (delta.ts's `imageSource`). */
  source: typeof imageSource;
  index?: ChunkIndex;
  /** Chunks kept aside from the target slot before the install began (scratch.ts). */
  stash?: ChunkStash | undefined;
  /** Epoch ms after which the job is over (the hub times it out). */
  deadline: number;
  backoff: { minMs: number; maxMs: number };
  random?: (() => number) | undefined;
  now(): number;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  /** After each durable write. */
  progress(s: InstallStatus): Promise<void>;
  onRequest?(offset: number): void;
}

/** One download, resumable. */
export class Downloader {
  constructor(private readonly d: DownloaderDeps) {}

  /**
   * Downloads the rest of the image. Resolves with the install status afterwards (downloaded, or
   * failed with the reason), or undefined when `signal` aborted it (the offset stays persisted).
   */
  async run(first: InstallStatus, signal: AbortSignal): Promise<InstallStatus | undefined> {
    const release = first.release!;
    // One connection for the whole download (its ranged requests and its retries), closed at the end.
    const session = httpsRangeFetcher({
      url: this.d.url,
      trust: () => this.d.trust(),
      length: release.length,
      onRequest: (offset) => this.d.onRequest?.(offset),
    });
    try {
      return await this.attempts(first, session.fetch, signal);
    } finally {
      session.close();
    }
  }

  private async attempts(
    first: InstallStatus,
    fetch: RangeFetcher,
    signal: AbortSignal,
  ): Promise<InstallStatus | undefined> {
    const { installer } = this.d;
    const release = first.release!;
    const backoff = new Backoff(this.d.backoff.minMs, this.d.backoff.maxMs, this.d.random);
    let s = first;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      if (signal.aborted) return undefined;
      if (s.next !== 'download') return s;
      const before = s.offset;
      try {
        s = await this.fetchRest(s, fetch, signal);
        if (s.next !== 'download') return s;
        throw new Error(`the image ended at ${s.offset} of ${release.length} bytes`);
      } catch (err) {
        if (signal.aborted) return undefined;
        if (err instanceof UpdateError && err.code === 'image_too_long') return installer.status(); // the installer failed it (length_mismatch)
        if (err instanceof DownloadError && err.permanent)
          return installer.abandon(err.message, err.code);
        s = await installer.status();
        if (s.next !== 'download') return s;
        if (this.d.now() > this.d.deadline)
          return installer.abandon(
            `the job's deadline passed during the download: ${(err as Error).message}`,
            'download_failed',
          );
        if (s.offset > before) backoff.reset(); // progress was made: retry soon
        const wait = backoff.next();
        this.d.log(
          'warn',
          `update download interrupted at ${s.offset}/${release.length} (${(err as Error).message}); retrying in ${wait} ms`,
        );
        await sleep(wait, signal);
      }
    }
    return installer.abandon(`download gave up after ${MAX_ATTEMPTS} attempts`, 'download_failed');
  }

  /** One connection: writes what it yields, flushing the buffer when the stream breaks. */
  private async fetchRest(
    first: InstallStatus,
    fetch: RangeFetcher,
    signal: AbortSignal,
  ): Promise<InstallStatus> {
    const { installer } = this.d;
    let s = first;
    const src = this.d.source({
      // After a delta-built image failed its hash: the plain full image (0010).
      ...(this.d.index !== undefined && first.fullImage !== true ? { index: this.d.index } : {}),
      slots: this.d.slots,
      reuse: [first.previous!],
      stash: this.d.stash,
      fetch,
      from: first.offset,
      length: first.release!.length,
      signal,
    });
    let buf: Uint8Array[] = [];
    let n = 0;
    // Where the buffered bytes came from: `saving()` moves by exactly each piece handed out.
    let seen = src.saving();
    let from = { downloaded: 0, reused: 0 };
    const flush = async () => {
      if (n === 0) return;
      const bytes = Buffer.concat(buf, n);
      const counts = from;
      buf = [];
      n = 0;
      from = { downloaded: 0, reused: 0 };
      s = await installer.writeChunk(bytes, s.offset, counts);
      await this.d.progress(s);
    };
    try {
      for await (const c of src.chunks) {
        const now = src.saving();
        from.downloaded += now.downloadedBytes - seen.downloadedBytes;
        from.reused += now.reusedBytes - seen.reusedBytes;
        seen = now;
        buf.push(c);
        n += c.byteLength;
        if (n >= WRITE_BYTES) await flush();
      }
      await flush();
    } catch (err) {
      // Keep what arrived intact before the break (not after an abort: the install may be canceled).
      if (!(err instanceof UpdateError) && !signal.aborted) await flush().catch(() => undefined);
      throw err;
    }
    return s;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
