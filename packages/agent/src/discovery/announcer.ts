/**
 * Announces the agent on the LAN with mDNS/DNS-SD (RFC 6762, RFC 6763) as `_bulwark._tcp.local`, so
 * a technician on site finds the device's local management port: announces on start, answers
 * queries while running, and says goodbye (TTL 0) on stop.
 */
import type mDNS from 'multicast-dns';
import { networkInterfaces } from 'node:os';
import {
  announcement,
  answerQuestions,
  txtStrings,
  type MdnsRecord,
  type ServiceInfo,
} from './records.js';
import { checkInterfaceAddress, openMdns, sendResponse } from './socket.js';

/** Options of `MdnsAnnouncer`. */
export interface MdnsAnnouncerOptions {
  deviceId: string;
  deviceType: string;
  firmwareVersion: string;
  /** The local management port to advertise. */
  port: number;
  /** The IPv4 address of the one interface to announce on; default: every interface. */
  interface?: string;
  /** The `.local` host name of the SRV record; default `bulwark-<device id>.local`. */
  hostname?: string;
  /** UDP port of mDNS; default 5353. */
  mdnsPort?: number;
  /** A failure while running (a send that failed); default: ignored. */
  onError?: (err: unknown) => void;
}

/** RFC 6762 §8.3: the announcement is sent (at least) twice, one second apart. */
const REANNOUNCE_MS = 1000;
/** RFC 6762 §6.7: TTL cap for answers to legacy (non-5353 source port) unicast queries. */
const LEGACY_TTL = 10;

/** The addresses announced for the host name: the chosen interface's, or every external one. */
function localAddresses(iface: string | undefined): string[] {
  const all = Object.values(networkInterfaces()).flatMap((l) => l ?? []);
  const chosen =
    iface === undefined
      ? all.filter((a) => !a.internal)
      : (Object.values(networkInterfaces()).find((l) =>
          (l ?? []).some((a) => a.address === iface),
        ) ?? []);
  // Link-local IPv6 needs a zone index to be usable, which a DNS record cannot carry: leave it out.
  return chosen
    .filter((a) => !(a.family === 'IPv6' && /^fe80:/i.test(a.address)))
    .map((a) => a.address);
}

/** Host label from a device id: lowercase letters, digits and hyphens (RFC 952/1123 host names). */
function hostLabel(deviceId: string): string {
  return deviceId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 54);
}

/** Announces one device. `start()` once, `stop()` once. */
export class MdnsAnnouncer {
  readonly #opts: MdnsAnnouncerOptions;
  readonly info: ServiceInfo;
  #mdns: mDNS.MulticastDNS | undefined;
  #timers = new Set<NodeJS.Timeout>();

  constructor(opts: MdnsAnnouncerOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new Error(`port ${opts.port} is not a TCP port`);
    }
    if (opts.deviceId === '' || opts.deviceId.includes('.')) {
      throw new Error(
        `device id ${JSON.stringify(opts.deviceId)} cannot be a DNS-SD instance name`,
      );
    }
    if (opts.interface !== undefined) checkInterfaceAddress(opts.interface);
    this.#opts = opts;
    this.info = {
      deviceId: opts.deviceId,
      deviceType: opts.deviceType,
      firmwareVersion: opts.firmwareVersion,
      port: opts.port,
      hostname: opts.hostname ?? `bulwark-${hostLabel(opts.deviceId)}.local`,
      addresses: localAddresses(opts.interface),
    };
    for (const s of txtStrings(this.info)) {
      // RFC 6763 §6.1: each TXT string is at most 255 bytes.
      if (Buffer.byteLength(s) > 255)
        throw new Error(`TXT entry too long (over 255 bytes): ${s.slice(0, 40)}…`);
    }
  }

  /** Opens the socket, starts answering queries and sends the announcement. */
  async start(): Promise<void> {
    if (this.#mdns !== undefined) throw new Error('the announcer is already started');
    const mdns = await openMdns({
      ...(this.#opts.interface === undefined ? {} : { interface: this.#opts.interface }),
      ...(this.#opts.mdnsPort === undefined ? {} : { port: this.#opts.mdnsPort }),
    });
    mdns.on('error', (err) => this.#opts.onError?.(err));
    mdns.on('warning', () => undefined); // undecodable packets and membership retries: not ours to fix
    mdns.on('query', (query, rinfo) => this.#answer(mdns, query, rinfo));
    try {
      await sendResponse(mdns, { answers: announcement(this.info) });
    } catch (err) {
      await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
      throw err;
    }
    this.#mdns = mdns;
    this.#later(REANNOUNCE_MS, () => sendResponse(mdns, { answers: announcement(this.info) }));
  }

  /** Sends the goodbye (every record with TTL 0) and closes the socket. */
  async stop(): Promise<void> {
    const mdns = this.#mdns;
    if (mdns === undefined) return;
    this.#mdns = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    try {
      await sendResponse(mdns, { answers: announcement(this.info, true) });
    } finally {
      await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    }
  }

  #later(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn().catch((err: unknown) => this.#opts.onError?.(err));
    }, ms);
    this.#timers.add(t);
  }

  #answer(
    mdns: mDNS.MulticastDNS,
    query: mDNS.QueryPacket,
    rinfo: { address: string; port: number },
  ): void {
    if (this.#mdns !== mdns) return; // stopping: the goodbye is on its way
    const { answers, additionals } = answerQuestions(this.info, query.questions);
    if (answers.length === 0) return;
    const mdnsPort = this.#opts.mdnsPort ?? 5353;
    if (rinfo.port !== mdnsPort) {
      // RFC 6762 §6.7 legacy unicast: reply to the sender only, echoing id and questions, short TTLs.
      const cap = (r: MdnsRecord) => ({ ...r, ttl: LEGACY_TTL }) as MdnsRecord;
      sendResponse(
        mdns,
        {
          id: query.id,
          questions: query.questions,
          answers: answers.map(cap),
          additionals: additionals.map(cap),
        },
        { address: rinfo.address, port: rinfo.port },
      ).catch((err: unknown) => this.#opts.onError?.(err));
      return;
    }
    // RFC 6762 §6: a shared (PTR) answer is delayed 20–120 ms so responders on the link do not collide.
    this.#later(20 + Math.floor(Math.random() * 100), () =>
      sendResponse(mdns, { answers, additionals }),
    );
  }
}
