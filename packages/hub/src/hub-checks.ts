/**
 * The hub-configuration audit checks (decision 0031): `bulwark doctor`'s listener verdicts
 * (doctor/listeners.ts), applied to the sockets this node really bound, as findings for the
 * hub's operator organization. One rule, two users: doctor from the outside, the checks inside.
 */
import type { FindingDraft, HubCheckSource } from '@bulwark/core';
import { listenerChecks, type Listener } from './doctor/listeners.js';

/** What this node listens on: the always-on TLS ports and the optional plain ones. */
export interface BoundListeners {
  httpPort: number;
  mqttPort: number;
  /** The open-mode (anonymous) MQTT listener, when enabled. */
  mqttOpen: { address: string; port: number } | null;
  /** The CoAP (UDP, no DTLS) listener, when enabled. */
  coap: { address: string; port: number } | null;
}

/** Which doctor verdicts become which finding, at which severity. */
const RULES: readonly {
  doctorId: string;
  status: 'fail' | 'warn';
  checkId: FindingDraft['checkId'];
  severity: FindingDraft['severity'];
}[] = [
  // Anonymous clients with no access control, reachable from the network.
  {
    doctorId: 'listen.mqtt-open',
    status: 'fail',
    checkId: 'hub.mqtt_open_exposed',
    severity: 'critical',
  },
  // Device keys and payloads in clear text on the network …
  { doctorId: 'listen.coap', status: 'fail', checkId: 'hub.coap_plaintext', severity: 'high' },
  // … or only on loopback, where every local user can read them.
  { doctorId: 'listen.coap', status: 'warn', checkId: 'hub.coap_plaintext', severity: 'low' },
];

/** The hub's configuration findings for listeners as bound (pure: tests feed it any set). */
export function hubFindings(b: BoundListeners): FindingDraft[] {
  const all: Listener[] = [];
  if (b.mqttOpen) all.push({ proto: 'tcp', ...b.mqttOpen });
  if (b.coap) all.push({ proto: 'udp', ...b.coap });
  const verdicts = listenerChecks(
    {
      httpPort: b.httpPort,
      mqttPort: b.mqttPort,
      mqttOpenPort: b.mqttOpen?.port ?? null,
      coapPort: b.coap?.port ?? null,
    },
    all,
  );
  const out: FindingDraft[] = [];
  for (const v of verdicts) {
    const rule = RULES.find((r) => r.doctorId === v.id && r.status === v.status);
    if (rule === undefined) continue;
    const l = v.id === 'listen.coap' ? b.coap! : b.mqttOpen!;
    const listener = `${v.id === 'listen.coap' ? 'coap' : 'mqtt-open'}@${l.address}:${l.port}`;
    out.push({
      checkId: rule.checkId,
      key: `listener:${listener}`,
      severity: rule.severity,
      message: `Hub configuration: ${v.detail}`,
      resources: [{ type: 'listener', id: listener }],
    });
  }
  return out;
}

/** The source the check service asks on each run of the operator organization. */
export function hubCheckSource(bound: () => BoundListeners): HubCheckSource {
  return async () => hubFindings(bound());
}
