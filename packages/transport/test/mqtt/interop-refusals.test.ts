/**
 * Refused messages with real third-party clients (MQTT 5 §3.4.2.1, §3.5.2.1): for an oversize
 * payload, a quota, a missing right, a bad payload format, a rate and an unavailable service the
 * client gets a PUBACK/PUBREC with a code MQTT 5 allows there, stays connected, and its next
 * publish on the same connection succeeds. MQTT.js, Debian's python3-paho-mqtt and mosquitto_pub.
 * Under CI a missing client is a failure; locally it is a skip.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Packet } from 'mqtt-packet';
import { collect, connect, IN_CI, startBroker, until } from './helpers.js';
import { havePaho, pahoPublish } from './paho-client.js';
import { PAYLOAD_LIMIT, REFUSALS, REFUSE_TOPIC, refusalHooks } from './refusal-hooks.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

describe('refusals with MQTT.js (mqtt-packet checks every reason code)', () => {
  for (const qos of [1, 2] as const) {
    it(`QoS ${qos}: each refusal arrives as an allowed code with a Reason String; the connection stays usable`, async () => {
      const b = await startBroker({ hooks: refusalHooks() });
      try {
        const c = await connect(b.port, { clientId: `mqttjs-refused-${qos}`, protocolVersion: 5 });
        const errors: Error[] = [];
        c.on('error', (e) => errors.push(e));
        const acks: Array<{ code: number; reason: string }> = [];
        c.on('packetreceive', (p: Packet) => {
          if (p.cmd === 'puback' || p.cmd === 'pubrec') {
            acks.push({ code: p.reasonCode ?? 0, reason: p.properties?.reasonString ?? '' });
          }
        });
        for (const r of REFUSALS) {
          const err = await c.publishAsync(REFUSE_TOPIC, r.payload, { qos }).then(
            () => null,
            (e: Error & { code?: number }) => e,
          );
          assert.equal(
            err?.code,
            r.code,
            `${r.name}: ${hex(r.code)} expected, got ${err?.message}`,
          );
          const ack = acks.at(-1)!;
          assert.equal(ack.code, r.code, r.name);
          assert.match(ack.reason, new RegExp(r.reason), r.name);
          assert.equal(c.connected, true, `${r.name}: still connected`);
        }
        // The same connection publishes again, successfully.
        await c.publishAsync(REFUSE_TOPIC, 'fine', { qos });
        assert.equal(c.connected, true);
        assert.deepEqual(errors, []);
        await c.endAsync();
      } finally {
        await b.close();
      }
    });
  }
});

const paho = havePaho();
const pahoSkip =
  paho || IN_CI ? false : 'python3-paho-mqtt not installed (apt-get install python3-paho-mqtt)';

describe("refusals with Debian's python3-paho-mqtt", { skip: pahoSkip }, () => {
  it('each refusal is read (no AssertionError in the network thread) and the next publish succeeds', async () => {
    assert.ok(paho, 'python3-paho-mqtt must be installed in CI');
    const b = await startBroker({ hooks: refusalHooks() });
    try {
      const cases: Array<[string, 1 | 2]> = [
        ...REFUSALS.map((r): [string, 1 | 2] => [r.payload, 1]),
        [REFUSALS[0]!.payload, 2], // the oversize payload once more, as QoS 2 (PUBREC)
        ['fine', 1],
        ['fine', 2],
      ];
      const report = await pahoPublish(b.port, REFUSE_TOPIC, cases);
      assert.equal(report.networkThreadAlive, true, 'paho network thread alive');
      assert.equal(report.connected, true, 'paho still connected');
      assert.deepEqual(report.disconnects, []);
      assert.equal(report.results.length, cases.length, JSON.stringify(report.results));
      // Accepted: QoS 1 says 0x10 No matching subscribers (nobody listens here), QoS 2 Success.
      const expected = [...REFUSALS.map((r) => r.code), REFUSALS[0]!.code, 0x10, 0];
      assert.deepEqual(
        report.results.map((r) => r.code ?? -1),
        expected,
      );
      for (const r of report.results) assert.equal(r.acked, true, `acked: ${r.payload}`);
      assert.match(report.results[0]!.reasonString ?? '', new RegExp(`limit is ${PAYLOAD_LIMIT}`));
    } finally {
      await b.close();
    }
  });
});

const have = (bin: string): boolean => spawnSync(bin, ['--help']).error === undefined;
const mosquitto = have('mosquitto_pub');
const mosquittoSkip =
  mosquitto || IN_CI
    ? false
    : 'mosquitto-clients not installed (apt-get install mosquitto-clients)';

describe('refusals with mosquitto_pub (libmosquitto)', { skip: mosquittoSkip }, () => {
  it('one connection (-l): every refusal is reported, then the last line is published', async () => {
    assert.ok(mosquitto, 'mosquitto_pub must be installed in CI');
    const b = await startBroker({ hooks: refusalHooks() });
    try {
      const watcher = await connect(b.port, { clientId: 'watcher', protocolVersion: 5 });
      const got = collect(watcher);
      await watcher.subscribeAsync('interop/#', { qos: 1 });
      const lines = [...REFUSALS.map((r) => r.payload), 'fine'];
      const pub = spawn('mosquitto_pub', [
        ...['-h', '127.0.0.1', '-p', String(b.port), '-V', 'mqttv5', '-q', '1'],
        ...['-t', REFUSE_TOPIC, '-l', '-d', '-i', 'mosquitto-refused'],
      ]);
      let out = '';
      pub.stdout.on('data', (d: Buffer) => (out += d.toString()));
      pub.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => pub.on('close', r));
      const sent = new Promise<void>((resolve) => {
        pub.stdin.end(`${lines.join('\n')}\n`, resolve);
      });
      await sent;
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref()),
      ]);
      if (code === 'timeout') pub.kill();
      assert.notEqual(code, 'timeout', `mosquitto_pub hung:\n${out}`);
      // libmosquitto prints each PUBACK it reads with its reason code.
      const rcs = [...out.matchAll(/received PUBACK \(Mid: \d+, RC:(\d+)\)/g)].map((m) =>
        Number(m[1]),
      );
      assert.deepEqual(rcs, [...REFUSALS.map((r) => r.code), 0], out);
      assert.doesNotMatch(out, /protocol error|Error: /i);
      await until(() => got.length === 1, 3000, 'the last line delivered');
      assert.equal(got[0]!.payload, 'fine');
      await watcher.endAsync();
    } finally {
      await b.close();
    }
  });
});
