// The gateway side of bench/connect.mjs (decision 0042, "Through a gateway"), on loopback, set up
// as gateway/test/gateway-connect-netns.test.ts does across namespaces: a site, `bulwark gateway`
// (a process) with its broker and its LAN HTTPS server (the firmware cache's, where relay legs
// upgrade), and a site device whose `bulwark agent` (a process) speaks MQTT to the gateway's broker
// and dials its relay legs at the gateway's LAN origin (`remoteAccess.relay`). Only enrollment goes
// to the hub directly. The relay leg then runs agent → gateway (LAN TLS) → hub (the gateway's own
// mutual TLS) → the CLI's leg.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSignedCert } from './self-signed.mjs';

/** A `bulwark` child in its own process group, its output kept (for the ports it prints). */
export function bulwark(bin, args, children) {
  const c = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(c);
  const out = { text: '' };
  const keep = (b) => {
    if (out.text.length < 200_000) out.text += b.toString();
  };
  c.stdout.on('data', keep);
  c.stderr.on('data', keep);
  return out;
}

async function waitFor(check, what, ms, detail = () => '') {
  for (const end = Date.now() + ms; ;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the site: `owner` creates the location and the gateway device, `api` the site device.
 * Resolves once the device's agent, behind the gateway, takes tunnel offers.
 */
export async function gatewaySite({ hub, owner, api, dir, bin, echoPort, children }) {
  const { url, caFile, mqttPort } = hub.info;
  const site = await owner.call('createLocation', { body: { name: 'bench-site', kind: 'site' } });
  const gwDevice = await api.devices.create({
    name: 'bench-gw',
    type: 'gateway',
    locationId: site.id,
  });
  const device = await api.devices.create({
    name: 'bench-behind',
    type: 'sensor',
    locationId: site.id,
  });
  const tls = selfSignedCert(dir, { name: 'gateway-lan' });
  const gwConfig = join(dir, 'gateway.json');
  writeFileSync(
    gwConfig,
    JSON.stringify({
      hubUrl: url,
      mqttUrl: `mqtts://127.0.0.1:${mqttPort}`,
      caFile,
      stateDir: join(dir, 'gw-state'),
      enrollment: { token: (await api.devices.createEnrollmentToken(gwDevice.id, {})).token },
      connection: { backoffMinMs: 100, backoffMaxMs: 1000 },
      gateway: {
        broker: { host: '127.0.0.1', port: 0, certFile: tls.certFile, keyFile: tls.keyFile },
        cache: { enabled: true, host: '127.0.0.1', port: 0 },
        inventory: { enabled: false },
        syncIntervalSeconds: 1,
      },
    }),
  );
  const gw = bulwark(bin, ['gateway', '--config', gwConfig, '--no-watchdog'], children);
  const brokerRe = /gateway broker listening on [^:]+:(\d+)/;
  const cacheRe = /firmware cache listening on [^:]+:(\d+)/;
  await waitFor(
    () => brokerRe.test(gw.text) && cacheRe.test(gw.text),
    'the gateway',
    30_000,
    () => gw.text,
  );
  const brokerPort = Number(brokerRe.exec(gw.text)[1]);
  const lanPort = Number(cacheRe.exec(gw.text)[1]);

  const agentCa = join(dir, 'agent-ca.pem');
  writeFileSync(agentCa, `${readFileSync(caFile, 'utf8')}\n${readFileSync(tls.certFile, 'utf8')}`);
  const agentConfig = join(dir, 'agent-behind.json');
  writeFileSync(
    agentConfig,
    JSON.stringify({
      hubUrl: url,
      mqttUrl: `mqtts://127.0.0.1:${brokerPort}`,
      caFile: agentCa,
      stateDir: join(dir, 'agent-behind'),
      enrollment: { token: (await api.devices.createEnrollmentToken(device.id, {})).token },
      connection: { backoffMinMs: 100, backoffMaxMs: 500 },
      remoteAccess: {
        tcpPorts: [echoPort],
        relay: { url: `https://127.0.0.1:${lanPort}`, caFile: tls.certFile },
      },
    }),
  );
  const agent = bulwark(bin, ['agent', '--config', agentConfig, '--no-watchdog'], children);
  const plane = hub.services.gatewayUplink.plane;
  await waitFor(
    () =>
      plane
        ?.held(gwDevice.id)
        .some((p) => p.deviceId === device.id && p.open && p.takes.includes('tunnel')),
    'the agent behind the gateway takes tunnel offers',
    60_000,
    () => `${gw.text}\n${agent.text}`,
  );
  return { device, gatewayId: gwDevice.id };
}
