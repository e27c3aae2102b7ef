/**
 * The device's LAN-facing services around a running Agent, as `bulwark agent` runs them: the local
 * management port (when `localPort.enabled`) and the mDNS announcement of it (when `mdns.enabled`).
 * Both need the device identity, so they start once the agent has one, reload the TLS credentials
 * after a certificate renewal, and stop on a factory reset (until the device enrolls again).
 */
import type { Agent } from './agent.js';
import type { AgentConfig } from './config.js';
import { MdnsAnnouncer } from './discovery/announcer.js';
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
      if (config.localPort.enabled) {
        const p = new LocalPortServer({
          host: agent.localPortHost(),
          port: config.localPort.port,
          bindAddress: config.localPort.host,
          ...(config.localPort.serialDevice !== undefined
            ? { serialDevice: config.localPort.serialDevice }
            : {}),
        });
        await p.start();
        port = p;
        log('info', `local management port on ${config.localPort.host}:${p.port}`);
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

  agent.on('enrolled', () => void start());
  agent.on('renewed', () => port?.reloadCredentials());
  agent.on('factory-reset', () => void stop());
  void start();
  return stop;
}
