/** Opening the mDNS socket (RFC 6762: UDP 5353, group 224.0.0.251), optionally on one interface. */
import makeMdns from 'multicast-dns';
import type mDNS from 'multicast-dns';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';

/** Where to speak mDNS. */
export interface MdnsSocketOptions {
  /** The IPv4 address of the one interface to use; default: every interface. */
  interface?: string;
  /** UDP port; 5353 except in tests that must not meet other responders. */
  port?: number;
}

/** Checks that `address` is an IPv4 address of this machine; throws a readable error if not. */
export function checkInterfaceAddress(address: string): void {
  if (!isIPv4(address)) {
    throw new Error(
      `interface ${JSON.stringify(address)} must be the IPv4 address of a local interface`,
    );
  }
  const mine = Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((a) => a.family === 'IPv4' && a.address === address),
  );
  if (!mine) throw new Error(`no local interface has the address ${address}`);
}

/** Opens and binds an mDNS socket; resolves once it can send and receive. */
export async function openMdns(opts: MdnsSocketOptions): Promise<mDNS.MulticastDNS> {
  if (opts.interface !== undefined) checkInterfaceAddress(opts.interface);
  const mdns = makeMdns({
    port: opts.port ?? 5353,
    // Bound to 0.0.0.0 even with one interface: Linux does not deliver multicast to a socket bound to
    // a unicast address. The interface then selects the group membership and the outgoing interface.
    bind: '0.0.0.0',
    ...(opts.interface === undefined ? {} : { interface: opts.interface }),
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      mdns.destroy();
      reject(err);
    };
    mdns.once('error', onError);
    mdns.once('ready', () => {
      mdns.off('error', onError);
      resolve();
    });
  });
  return mdns;
}

/** Sends a packet; resolves when it has left (or rejects with the send error). */
export function sendResponse(
  mdns: mDNS.MulticastDNS,
  packet: mDNS.ResponseOutgoingPacket,
  to?: mDNS.RemoteInfoOutgoing,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null) => (err ? reject(err) : resolve());
    if (to === undefined) mdns.respond(packet, done);
    else mdns.respond(packet, to, done);
  });
}
