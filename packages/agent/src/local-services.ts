/**
 * The device's LAN-facing services around a running Agent, as `bulwark agent` runs them: the local
 * management port (when `localPort.enabled`) and the mDNS announcement of it (when `mdns.enabled`).
 * Both need the device identity, so they start once the agent has one, reload the TLS credentials
 * after a certificate renewal, and stop on a factory reset (until the device enrolls again).
 */
import { readFile } from 'node:fs/promises';
import type { Agent } from './agent.js';
import type { AgentConfig } from './config.js';
import { MdnsAnnouncer } from './discovery/announcer.js';
import type { TunnelOffer } from '@bulwark/protocol';
import { dialRelay } from './local/relay-dial.js';
import { LocalPortServer } from './local/server.js';

/** Starts the local services when (and each time) the agent has an identity; returns a stop function. */
export function runLocalServices(
  agent: Agent,
  config: AgentConfig,
  log: (level: 'info' | 'warn', msg: string) => void,
): () => Promise<void> {
  let port: LocalPortServer | undefined;
  let mdns: MdnsAnnouncer | undefined;
  let chain: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>) => {
    chain = chain.then(fn).catch((err: Error) => log('warn', `local services: ${err.message}`));
    return chain;
  };

  const stop = () =>
    serial(async () => {
      await mdns?.stop();
      mdns = undefined;
      await port?.stop();
      port = undefined;
    });
  const start = () =>
    serial(async () => {
      if (port !== undefined || agent.identity === undefined) return;
      if (config.localPort.enabled || config.remoteAccess.enabled) {
        const p = new LocalPortServer({
          host: agent.localPortHost(),
          port: config.localPort.port,
          bindAddress: config.localPort.host,
          listen: config.localPort.enabled,
          tunnelPorts: config.remoteAccess.tcpPorts,
          ...(config.localPort.serialDevice !== undefined
            ? { serialDevice: config.localPort.serialDevice }
            : {}),
        });
        await p.start();
        port = p;
        if (config.localPort.enabled)
          log('info', `local management port on ${config.localPort.host}:${p.port}`);
      }
      if (port !== undefined && config.localPort.enabled) {
        const p = port;
        if (config.mdns.enabled) {
          const m = new MdnsAnnouncer({
            deviceId: agent.identity.deviceId,
            deviceType: config.device.type,
            firmwareVersion: config.device.firmwareVersion,
            port: p.port,
            onError: (err) => log('warn', `mDNS: ${(err as Error).message}`),
          });
          await m.start();
          mdns = m;
        }
      } else if (config.mdns.enabled) {
        log('warn', 'mdns.enabled needs localPort.enabled (it announces the local port)');
      }
    });

  // Remote access (decision 0042): the hub's offer, dialed out with the device's certificate —
  // to the hub, or behind a gateway to the gateway's LAN server (`remoteAccess.relay`), which
  // forwards the leg; the end-to-end TLS session is the same either way.
  const relay = config.remoteAccess.relay;
  agent.on('tunnel-offer', (offer: TunnelOffer) => {
    if (!config.remoteAccess.enabled) {
      log('warn', `remote access: offer ${offer.id} ignored (remoteAccess.enabled is false)`);
      return;
    }
    const trust = agent.hubTrust();
    if (port === undefined || trust === undefined) return;
    log('info', `remote access: session ${offer.id} to ${offer.target}`);
    port
      .acceptTunnel(offer, async () =>
        dialRelay({
          origin: relay?.url ?? trust.origin,
          path: offer.path,
          secret: offer.secret,
          ca: relay ? [...trust.ca, await readFile(relay.caFile, 'utf8')] : trust.ca,
          cert: trust.cert,
          key: trust.key,
        }),
      )
      .catch((err: Error) => log('warn', `remote access: session ${offer.id}: ${err.message}`));
  });
  agent.on('enrolled', () => void start());
  agent.on('renewed', () => port?.reloadCredentials());
  agent.on('factory-reset', () => void stop());
  void start();
  return stop;
}
