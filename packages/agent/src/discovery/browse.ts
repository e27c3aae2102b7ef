/**
 * Finds Bulwark devices on the LAN: asks for `_bulwark._tcp.local` (RFC 6763 §4.1) and collects
 * the answers, announcements and goodbyes heard until the timeout.
 */
import type mDNS from 'multicast-dns';
import { SERVICE_TYPE, type MdnsRecord } from './records.js';
import { openMdns } from './socket.js';

/** One device found on the LAN, from its SRV, TXT and address records. */
export interface DiscoveredDevice {
  /** DNS-SD instance name (`<id>._bulwark._tcp.local`). */
  instance: string;
  /** TXT `id`, `type`, `fw`, `v`; empty when the device did not say. */
  id: string;
  type: string;
  fw: string;
  version: string;
  /** SRV port (TXT `port` if no SRV was heard). */
  port: number;
  /** SRV target host name. */
  host: string;
  /** The host's addresses from A/AAAA records, else the address the answer came from. */
  addresses: string[];
}

/** Options of `discoverDevices`. */
export interface DiscoverOptions {
  /** How long to listen. Default 3000 ms. */
  timeoutMs?: number;
  /** The IPv4 address of the one interface to ask on; default: every interface. */
  interface?: string;
  /** UDP port of mDNS; default 5353. */
  mdnsPort?: number;
}

/** RFC 6762 §5.2: repeat the question after 1 s (then doubling), in case the first was lost. */
const REQUERY_MS = [1000, 2000, 4000, 8000];

interface Heard {
  srv?: { port: number; target: string };
  txt?: Map<string, string>;
  from?: string;
}

function txtMap(data: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const list: unknown[] = Array.isArray(data) ? data : [data];
  for (const item of list) {
    const s = Buffer.isBuffer(item) ? item.toString('utf8') : typeof item === 'string' ? item : '';
    const eq = s.indexOf('=');
    // RFC 6763 §6.4: keys are case-insensitive; the first occurrence of a key wins.
    const key = (eq < 0 ? s : s.slice(0, eq)).toLowerCase();
    if (key !== '' && !out.has(key)) out.set(key, eq < 0 ? '' : s.slice(eq + 1));
  }
  return out;
}

/** Collects what is heard about `_bulwark._tcp` into devices. */
class Collector {
  readonly instances = new Map<string, Heard>();
  readonly hosts = new Map<string, Set<string>>();

  add(records: readonly MdnsRecord[], from: string): void {
    for (const r of records) {
      if (r.type === 'OPT') continue;
      const name = r.name.toLowerCase();
      const gone = r.ttl === 0; // RFC 6762 §10.1 goodbye
      if (r.type === 'PTR' && name === SERVICE_TYPE) {
        const inst = r.data.toLowerCase();
        if (gone) this.instances.delete(inst);
        else if (!this.instances.has(inst)) this.instances.set(inst, { from });
      } else if (r.type === 'SRV' && name.endsWith(`.${SERVICE_TYPE}`)) {
        if (gone) this.instances.delete(name);
        else
          this.#heard(name, from).srv = { port: r.data.port, target: r.data.target.toLowerCase() };
      } else if (r.type === 'TXT' && name.endsWith(`.${SERVICE_TYPE}`)) {
        if (!gone) this.#heard(name, from).txt = txtMap(r.data);
      } else if (r.type === 'A' || r.type === 'AAAA') {
        const set = this.hosts.get(name) ?? new Set<string>();
        if (gone) set.delete(r.data);
        else set.add(r.data);
        this.hosts.set(name, set);
      }
    }
  }

  #heard(name: string, from: string): Heard {
    let h = this.instances.get(name);
    if (h === undefined) {
      h = { from };
      this.instances.set(name, h);
    }
    return h;
  }

  /** Instances heard of by PTR but whose SRV or TXT is still missing. */
  incomplete(): string[] {
    return [...this.instances].filter(([, h]) => !h.srv || !h.txt).map(([n]) => n);
  }

  devices(): DiscoveredDevice[] {
    return [...this.instances]
      .map(([instance, h]): DiscoveredDevice => {
        const txt = h.txt ?? new Map<string, string>();
        const host = h.srv?.target ?? '';
        const addrs = [...(this.hosts.get(host) ?? [])];
        return {
          instance,
          id: txt.get('id') ?? '',
          type: txt.get('type') ?? '',
          fw: txt.get('fw') ?? '',
          version: txt.get('v') ?? '',
          port: h.srv?.port ?? Number(txt.get('port') ?? 0),
          host,
          addresses: addrs.length > 0 ? addrs.sort() : h.from === undefined ? [] : [h.from],
        };
      })
      .sort((a, b) => a.id.localeCompare(b.id) || a.instance.localeCompare(b.instance));
  }
}

/** Asks the LAN for Bulwark devices and resolves with those heard within the timeout. */
export async function discoverDevices(opts: DiscoverOptions = {}): Promise<DiscoveredDevice[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error('timeout must be positive');
  const mdns = await openMdns({
    ...(opts.interface === undefined ? {} : { interface: opts.interface }),
    ...(opts.mdnsPort === undefined ? {} : { port: opts.mdnsPort }),
  });
  const collector = new Collector();
  const timers: NodeJS.Timeout[] = [];
  try {
    mdns.on('warning', () => undefined);
    mdns.on('response', (res: mDNS.ResponsePacket, rinfo) => {
      collector.add([...res.answers, ...res.additionals], rinfo.address);
    });
    const ask = () => {
      const questions: mDNS.QueryPacket['questions'] = [{ name: SERVICE_TYPE, type: 'PTR' }];
      // Resolve instances whose PTR came without SRV/TXT (RFC 6763 §12 makes them optional extras).
      for (const inst of collector.incomplete()) {
        questions.push({ name: inst, type: 'SRV' }, { name: inst, type: 'TXT' });
      }
      mdns.query({ questions });
    };
    ask();
    for (const ms of REQUERY_MS.filter((ms) => ms < timeoutMs)) timers.push(setTimeout(ask, ms));
    await new Promise<void>((resolve, reject) => {
      timers.push(setTimeout(resolve, timeoutMs));
      mdns.once('error', reject);
    });
    return collector.devices();
  } finally {
    for (const t of timers) clearTimeout(t);
    await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
  }
}
