// The hub's own counters around a cell of bench/ingest.mjs, scraped from /metrics with the bench's
// API key: PUBLISH packets the MQTT engine read, and messages it dropped by reason (QoS 0 to a
// subscriber whose socket is full). They tell "never read by the hub" from "read and dropped".
// A hub saturated by 1,000 TLS connections can be slow to answer: each read waits up to 30 s and
// is tried twice; a hub that still does not answer gives null (the cell notes it), never a failed
// run.
import { request } from 'node:https';

function get(url, ca, apiKey) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca, headers: { authorization: `Bearer ${apiKey}` }, timeout: 30_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics: ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('/metrics: timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A function returning { messagesIn, dropped: { reason: n }, writerWaiting } now (writerWaiting:
 * envelopes queued for the hub's message writer), or null (see above).
 */
export function hubCounters({ url, ca, apiKey }) {
  return async () => {
    let text;
    for (let attempt = 0; text === undefined && attempt < 2; attempt++) {
      try {
        text = await get(`${url}/metrics`, ca, apiKey);
      } catch (err) {
        process.stderr.write(`[bench:ingest] ${err.message}\n`);
      }
    }
    if (text === undefined) return null;
    const out = { messagesIn: 0, dropped: {}, writerWaiting: 0 };
    for (const line of text.split('\n')) {
      const w = /^bulwark_storage_writer_waiting (\S+)$/.exec(line);
      if (w) out.writerWaiting = Number(w[1]);
      const m = /^(bulwark_mqtt_messages_in|bulwark_mqtt_dropped_messages)(\{[^}]*\})? (\S+)$/.exec(
        line,
      );
      if (!m) continue;
      if (m[1] === 'bulwark_mqtt_messages_in') out.messagesIn = Number(m[3]);
      else out.dropped[/reason="([^"]*)"/.exec(m[2] ?? '')?.[1] ?? 'unknown'] = Number(m[3]);
    }
    return out;
  };
}

/** after − before, per counter (null when either read failed). */
export function counterDelta(before, after) {
  if (!before || !after) return null;
  const dropped = {};
  for (const [k, v] of Object.entries(after.dropped)) {
    const d = v - (before.dropped[k] ?? 0);
    if (d !== 0) dropped[k] = d;
  }
  return { messagesIn: after.messagesIn - before.messagesIn, dropped };
}
