/**
 * The device's trusted firmware root and the checks an offer passes before any byte is downloaded:
 * the root (pinned: provisioned from `update.rootFile`, else trust on first use, persisted in the
 * agent's files; a different root only as a rotation the pinned one signs), the release metadata
 * (signature threshold, expiry) and compatibility with this device.
 */
import { readFile } from 'node:fs/promises';
import {
  canonicalJson,
  checkCompatible,
  verifyRelease,
  verifyRoot,
  verifyRootUpdate,
  type DeviceFacts,
  type Release,
} from '@bulwark/firmware';
import type { AgentFiles } from '../ports.js';

/** Where the pinned root lives in the agent's files. */
export const PINNED_ROOT = 'update/root.json';

/** A refusal with a machine code for the job history and a sentence. */
export interface OfferRefusal {
  ok: false;
  reason: string;
  message: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

/** Holds the pinned root; `accept` decides about the root an offer carries. */
export class RootTrust {
  private pinned: unknown;

  constructor(
    private readonly files: AgentFiles,
    private readonly rootFile: string | undefined,
  ) {}

  /** The pinned root document (undefined before the first offer on a device without `rootFile`). */
  get root(): unknown {
    return this.pinned;
  }

  /**
   * Loads the pinned root: the persisted one (it may have been rotated), else the provisioned
   * `rootFile` (which must verify on its own). A broken provisioned root is a configuration error.
   */
  async load(): Promise<void> {
    const raw = await this.files.read(PINNED_ROOT);
    if (raw !== undefined) {
      this.pinned = parse(dec.decode(raw), PINNED_ROOT);
      return;
    }
    if (this.rootFile === undefined) return;
    const doc = parse(await readFile(this.rootFile, 'utf8'), this.rootFile);
    const v = verifyRoot(doc);
    if (!v.ok) throw new Error(`update.rootFile ${this.rootFile}: ${v.reason}: ${v.message}`);
    await this.pin(doc);
  }

  /**
   * The root an offer carries: the pinned one (same content), the first one (trust on first use,
   * verified on its own), or a rotation verified by the pinned root. Anything else is refused with
   * `untrusted_root`; a rotation is pinned at once (it is signed by the keys already trusted).
   */
  async accept(offered: string, now: Date): Promise<{ ok: true; root: unknown } | OfferRefusal> {
    let doc: unknown;
    try {
      doc = parse(offered, 'the offered root');
    } catch (err) {
      return { ok: false, reason: 'malformed', message: (err as Error).message };
    }
    if (this.pinned === undefined) {
      const v = verifyRoot(doc, { now });
      if (!v.ok)
        return { ok: false, reason: 'untrusted_root', message: `first root: ${v.message}` };
      await this.pin(doc);
      return { ok: true, root: doc };
    }
    if (same(doc, this.pinned)) return { ok: true, root: this.pinned };
    const v = verifyRootUpdate(this.pinned, doc, { now });
    if (!v.ok)
      return {
        ok: false,
        reason: 'untrusted_root',
        message: `the offered root is not the pinned one nor a rotation it signs (${v.reason}: ${v.message})`,
      };
    await this.pin(doc);
    return { ok: true, root: doc };
  }

  private async pin(doc: unknown): Promise<void> {
    await this.files.write(PINNED_ROOT, enc.encode(JSON.stringify(doc)));
    this.pinned = doc;
  }
}

function same(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

/**
 * Verifies the release metadata against the trusted root and checks it fits the device: the first
 * refusal wins (signature and expiry before compatibility); every incompatibility is named.
 */
export function checkOffer(
  metadata: string,
  root: unknown,
  device: DeviceFacts,
  now: Date,
): { ok: true; release: Release } | OfferRefusal {
  let doc: unknown;
  try {
    doc = parse(metadata, 'the release metadata');
  } catch (err) {
    return { ok: false, reason: 'malformed', message: (err as Error).message };
  }
  const v = verifyRelease(doc, root, { now });
  if (!v.ok) return { ok: false, reason: v.reason, message: v.message };
  const misfits = checkCompatible(v.release, device);
  if (misfits.length > 0)
    return {
      ok: false,
      reason: misfits[0]!.reason,
      message: misfits.map((m) => m.message).join('; '),
    };
  return { ok: true, release: v.release };
}
