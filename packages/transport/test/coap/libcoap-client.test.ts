/**
 * Interop with a real third-party client: libcoap's coap-client-notls (Debian libcoap3-bin). It
 * exits 0 even on errors, so the tests read the PDUs it logs at -v 6 (-v 7 for every block). Under CI a missing binary
 * fails; locally it is a skip with the reason.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CHANNEL, DEVICE, IN_CI, KEY, startServer, until } from './helpers.js';

const BIN = 'coap-client-notls';
const run = promisify(execFile);
const present = spawnSync(BIN, ['-h']).error === undefined;
const skip = present || IN_CI ? false : `${BIN} not installed (apt-get install libcoap3-bin)`;

/** Runs coap-client-notls and returns what it logged (stdout + stderr). */
async function coap(args: string[], verbosity = 6): Promise<string> {
  const r = await run(BIN, ['-v', String(verbosity), ...args], { timeout: 15_000 });
  return `${r.stdout}\n${r.stderr}`;
}

/** The response codes libcoap logged for PDUs it received (`v:1 t:ACK c:2.04 …`). */
function codes(out: string): string[] {
  return [...out.matchAll(/v:1 t:(?:ACK|CON|NON) c:(\d\.\d\d)/g)].map((m) => m[1]!);
}

describe(`${BIN} (libcoap) against the CoAP adapter`, { skip }, () => {
  const uri = (port: number, sub = '', key = KEY): string =>
    `coap://127.0.0.1:${port}/channels/${CHANNEL}/messages${sub}?auth=${DEVICE}:${key}`;

  it('POST of SenML JSON (-t 110) gets 2.04 and reaches ingest', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server, hooks } = await startServer();
    try {
      const senml = '[{"bn":"dev-1/","n":"temp","u":"Cel","v":21.5}]';
      const out = await coap(['-m', 'post', '-t', '110', '-e', senml, uri(server.port, '/room')]);
      assert.deepEqual(
        codes(out).filter((c) => c !== '0.00'),
        ['2.04'],
        out,
      );
      const m = hooks.ingested.at(-1)?.m;
      assert.equal(m?.contentType, 'application/senml+json');
      assert.equal(m?.subtopic, 'room');
      assert.equal(Buffer.from(m?.payload ?? []).toString(), senml);
    } finally {
      await server.close();
    }
  });

  it('a wrong key gets 4.01', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server, hooks } = await startServer();
    try {
      const out = await coap([
        '-m',
        'post',
        '-t',
        '110',
        '-e',
        '[]',
        uri(server.port, '', 'wrong'),
      ]);
      assert.deepEqual(codes(out), ['4.01'], out);
      assert.equal(hooks.ingested.length, 0);
    } finally {
      await server.close();
    }
  });

  it('a large payload with -b 64 goes block-wise (Block1) and is reassembled', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server, hooks } = await startServer();
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-coap-'));
    try {
      const body = Buffer.from('0123456789'.repeat(50)); // 500 bytes → 8 blocks of 64
      const file = join(dir, 'body.txt');
      writeFileSync(file, body);
      // -v 7 (debug): libcoap logs the intermediate blocks only at this level.
      const out = await coap(
        ['-m', 'post', '-t', '0', '-b', '64', '-f', file, uri(server.port)],
        7,
      );
      const seen = codes(out);
      assert.equal(seen.filter((c) => c === '2.31').length, 7, out);
      assert.equal(seen.at(-1), '2.04', out);
      assert.deepEqual(Buffer.from(hooks.ingested.at(-1)?.m.payload ?? []), body);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });

  it('-s observes: delivered messages arrive as notifications, small and block-wise', async () => {
    assert.ok(present, `${BIN} must be installed in CI`);
    const { server } = await startServer();
    try {
      const child = spawn(BIN, ['-m', 'get', '-s', '4', uri(server.port, '/room')]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      try {
        await until(() => server.stats().observers === 1, 5000, 'coap-client registered');
        const big = `{"big":"${'y'.repeat(3000)}"}`;
        server.deliver({
          channelId: CHANNEL,
          subtopic: 'room',
          contentType: 'application/json',
          payload: Buffer.from('{"t":1}'),
        });
        server.deliver({
          channelId: CHANNEL,
          subtopic: 'other',
          contentType: 'text/plain',
          payload: Buffer.from('NOT-FOR-YOU'),
        });
        await until(() => out.includes('{"t":1}'), 5000, 'small notification printed');
        server.deliver({
          channelId: CHANNEL,
          subtopic: 'room',
          contentType: 'application/json',
          payload: Buffer.from(big),
        });
        await until(() => out.includes(big), 5000, 'block-wise notification reassembled');
        assert.ok(!out.includes('NOT-FOR-YOU'));
      } finally {
        child.kill();
        await exited;
      }
    } finally {
      await server.close();
    }
  });
});
