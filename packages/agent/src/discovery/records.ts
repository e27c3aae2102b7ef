/**
 * The DNS-SD records of a Bulwark device (RFC 6763) and the answers to mDNS questions about them
 * (RFC 6762). Pure functions: the announcer sends what these build, the browser reads them back.
 */
import type mDNS from 'multicast-dns';

/** A resource record as multicast-dns encodes and decodes it. */
export type MdnsRecord = mDNS.ResponsePacket['answers'][number];
/** A question as multicast-dns decodes it. */
export type MdnsQuestion = mDNS.QueryPacket['questions'][number];

/** The DNS-SD service type of the agent. */
export const SERVICE_TYPE = '_bulwark._tcp.local';
/** RFC 6763 §9: the meta-query that lists every service type on the link. */
export const SERVICES_META = '_services._dns-sd._udp.local';

/** What a device announces: nothing secret (no keys, tickets or org), only how to find its port. */
export interface ServiceInfo {
  /** Device id: the instance name, and TXT `id`. */
  deviceId: string;
  /** Device type (TXT `type`). */
  deviceType: string;
  /** Firmware version (TXT `fw`). */
  firmwareVersion: string;
  /** The local management port (SRV and TXT `port`). */
  port: number;
  /** The host name the SRV points at, ending in `.local`. */
  hostname: string;
  /** The interface addresses the host name resolves to. */
  addresses: readonly string[];
}

/**
 * RFC 6762 §10: 120 s for records naming a host (SRV, A, AAAA), 75 minutes for the others; a
 * goodbye sends the same records with TTL 0.
 */
export const TTL_HOST = 120;
export const TTL_OTHER = 4500;

/** The instance's full name, e.g. `dev-1._bulwark._tcp.local`. */
export function instanceName(info: Pick<ServiceInfo, 'deviceId'>): string {
  // RFC 6763 §4.3: an instance label may hold any UTF-8 but dots must be escaped; device ids have none.
  return `${info.deviceId}.${SERVICE_TYPE}`;
}

/** TXT key/value strings (RFC 6763 §6); `v=1` versions the set. */
export function txtStrings(info: ServiceInfo): string[] {
  return [
    'v=1',
    `id=${info.deviceId}`,
    `type=${info.deviceType}`,
    `fw=${info.firmwareVersion}`,
    `port=${info.port}`,
  ];
}

/** Every record of the service, grouped by what they describe. */
export function serviceRecords(
  info: ServiceInfo,
  goodbye = false,
): {
  meta: MdnsRecord;
  ptr: MdnsRecord;
  srv: MdnsRecord;
  txt: MdnsRecord;
  host: MdnsRecord[];
} {
  const ttl = (t: number) => (goodbye ? 0 : t);
  const name = instanceName(info);
  return {
    meta: { name: SERVICES_META, type: 'PTR', ttl: ttl(TTL_OTHER), data: SERVICE_TYPE },
    ptr: { name: SERVICE_TYPE, type: 'PTR', ttl: ttl(TTL_OTHER), data: name },
    // flush: RFC 6762 §10.2 cache-flush bit on records unique to this host; never on shared PTRs.
    srv: {
      name,
      type: 'SRV',
      ttl: ttl(TTL_HOST),
      flush: true,
      data: { port: info.port, target: info.hostname, priority: 0, weight: 0 },
    },
    txt: { name, type: 'TXT', ttl: ttl(TTL_OTHER), flush: true, data: txtStrings(info) },
    host: info.addresses.map((a): MdnsRecord => ({
      name: info.hostname,
      type: a.includes(':') ? 'AAAA' : 'A',
      ttl: ttl(TTL_HOST),
      flush: true,
      data: a,
    })),
  };
}

/** The records of an unsolicited announcement (RFC 6762 §8.3) or, with `goodbye`, of a goodbye (§10.1). */
export function announcement(info: ServiceInfo, goodbye = false): MdnsRecord[] {
  const r = serviceRecords(info, goodbye);
  return [r.ptr, r.srv, r.txt, ...r.host, r.meta];
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase(); // DNS names: case-insensitive

/** The answers and additional records for the questions in one query; empty if none is ours. */
export function answerQuestions(
  info: ServiceInfo,
  questions: readonly MdnsQuestion[],
): { answers: MdnsRecord[]; additionals: MdnsRecord[] } {
  const r = serviceRecords(info);
  const answers = new Set<MdnsRecord>();
  const additionals = new Set<MdnsRecord>();
  // QTYPE 255 (ANY) is decoded as 'ANY' though dns-packet's types leave it out.
  const wants = (q: MdnsQuestion, ...types: string[]) => {
    const t: string = q.type;
    return t === 'ANY' || types.includes(t);
  };
  for (const q of questions) {
    if (same(q.name, SERVICES_META) && wants(q, 'PTR')) answers.add(r.meta);
    if (same(q.name, SERVICE_TYPE) && wants(q, 'PTR')) {
      answers.add(r.ptr);
      // RFC 6763 §12.1: a PTR answer carries the SRV, TXT and addresses as additional records.
      [r.srv, r.txt, ...r.host].forEach((x) => additionals.add(x));
    }
    if (same(q.name, instanceName(info))) {
      if (wants(q, 'SRV')) answers.add(r.srv);
      if (wants(q, 'TXT')) answers.add(r.txt);
      r.host.forEach((x) => additionals.add(x));
    }
    if (same(q.name, info.hostname)) {
      for (const h of r.host) if (wants(q, h.type)) answers.add(h);
    }
  }
  for (const a of answers) additionals.delete(a);
  return { answers: [...answers], additionals: answers.size === 0 ? [] : [...additionals] };
}
