#!/usr/bin/env node
// `npm run bench:mqtt-stored`: ONE device connection (MQTT 5 over TLS, device key) publishing QoS 1
// to a persisted channel of a real hub (own process, temp data dir, SQLite) — the gateway case of
// decision record 0018. Two phases, each bounded in time and count:
//   - one message in flight (the client waits for each PUBACK): what a connection got before
//     pipelining, when the engine stopped reading while a message was being stored;
//   - up to WINDOW messages in flight (open loop, the engine's inbound window does the rest).
// Both with opaque payloads and with SenML. Prints acknowledged (= stored) msg/s and the stored
// count read back. Loopback only. Env: DURATION_MS (3000), MAX (100000), WINDOW (1000).
import https from 'node:https';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { hubProcess } from './hub-process.mjs';

const DURATION = Number(process.env.DURATION_MS ?? 3000);
const MAX = Number(process.env.MAX ?? 100_000);
const WINDOW = Number(process.env.WINDOW ?? 1000);

/** A JSON call on the hub's API with the bench API key. */
function api(info, ca, key, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${info.url}/api/v1${path}`,
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => {
          if (res.statusCode >= 300)
            reject(new Error(`${method} ${path}: ${res.statusCode} ${data}`));
          else resolve(data ? JSON.parse(data) : undefined);
        });
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** Publish for DURATION (at most MAX) with up to `inflight` unacknowledged; returns counts. */
async function phase(c, topic, inflight, senml) {
  const props = senml ? { properties: { contentType: 'application/senml+json' } } : {};
  let sent = 0;
  let acked = 0;
  let refused = 0;
  const t0 = performance.now();
  const end = t0 + DURATION;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent - acked - refused < inflight && sent < MAX && performance.now() < end) {
        const i = sent++;
        const payload = senml
          ? `[{"bn":"urn:dev:gw:","n":"temp","u":"Cel","v":${20 + (i % 10)},"t":${1.7e9 + i}}]`
          : `reading ${i} ${'x'.repeat(80)}`;
        c.publish(topic, payload, { qos: 1, ...props }, (err, p) => {
          if (err || (p?.reasonCode ?? 0) >= 0x80) refused++;
          else acked++;
          if (sent === acked + refused && (performance.now() >= end || sent >= MAX)) resolve();
          else if (inflight === 1) pump();
          else if (sent - acked - refused < inflight / 2) setImmediate(pump);
        });
      }
    };
    pump();
  });
  const s = (performance.now() - t0) / 1000;
  return { acked, refused, perSecond: Math.round(acked / s) };
}

const hub = hubProcess('bulwark-bench-stored-');
try {
  const info = await hub.start();
  const ca = readFileSync(info.caFile, 'utf8');
  const call = (m, p, b) => api(info, ca, hub.apiKey, m, p, b);
  const channel = await call('POST', '/channels', { name: 'gateway' });
  const device = await call('POST', '/devices', { name: 'gateway', type: 'gateway' });
  const { key } = await call('POST', `/devices/${device.id}/keys`, {});
  await call('POST', `/channels/${channel.id}/connections`, {
    clientType: 'device',
    clientId: device.id,
    publish: true,
    subscribe: false,
  });
  const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${info.mqttPort}`, {
    ca,
    protocolVersion: 5,
    clientId: device.id,
    username: device.id,
    password: key,
    reconnectPeriod: 0,
  });
  console.log('one MQTT 5 connection over TLS, device key, persisted channel, SQLite (default');
  console.log(`durability); ${DURATION} ms per phase; shared, noisy 2-core machine; one run`);
  const rows = [];
  for (const senml of [false, true]) {
    for (const inflight of [1, WINDOW]) {
      const sub = `${senml ? 'senml' : 'opaque'}-${inflight}`;
      const r = await phase(c, `channels/${channel.id}/messages/${sub}`, inflight, senml);
      rows.push({ payload: senml ? 'SenML' : 'opaque', inflight, ...r });
    }
  }
  await c.endAsync();
  for (const r of rows) {
    console.log(
      `  ${r.payload.padEnd(6)} in flight ${String(r.inflight).padStart(5)}: ` +
        `${String(r.perSecond).padStart(6)} stored QoS 1 msg/s (${r.acked} acknowledged, ${r.refused} refused)`,
    );
  }
} finally {
  await hub.stop();
  hub.remove();
}
