/**
 * Central device logs end to end (decision 0032): a real hub, real agents tailing a real file.
 * A line written to the file reaches `GET /devices/{id}/logs` and `bulwark logs DEVICE` with its
 * secret redacted; `--follow` sees a new line; lines written while the hub is down are buffered
 * on the device and delivered after; another device cannot write this device's logs, and
 * another organization (or a key without devices:read) cannot read them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import type { BulwarkClient } from '@bulwark/sdk';
import type { DeviceLogView } from '@bulwark/protocol';
import { Agent } from '../src/agent.js';
import { DirFiles } from '../src/files/dir-files.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import {
  agentConfig,
  cleanup,
  PASSWORD,
  provisionDevice,
  setupOwner,
  startTestHub,
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';
import { BIN, spawnLines } from './process-helpers.js';

const run = promisify(execFile);

describe('central device logs: a real hub and real agents', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let dir: string;
  const agents: Agent[] = [];
  let a: { agent: Agent; deviceId: string; file: string };
  let b: { agent: Agent; deviceId: string; file: string };

  const newAgent = async (name: string, channelId: string) => {
    const { deviceId, token } = await provisionDevice(s.api, name, channelId);
    const state = join(dir, name);
    const file = join(dir, `${name}.log`);
    writeFileSync(file, 'history that is not shipped\n');
    const agent = new Agent({
      config: agentConfig(t, state, {
        enrollment: { token },
        logs: {
          files: [{ path: file, source: 'app' }],
          pollMs: 50,
          batch: { flushMs: 50 },
        },
      }),
      files: await DirFiles.open(state),
      system: new SyntheticSystem(),
    });
    agents.push(agent);
    await agent.start();
    await agent.whenConnected(15_000);
    return { agent, deviceId, file };
  };

  const logsOf = async (api: BulwarkClient, deviceId: string, q = {}) =>
    (await api.devices.logs(deviceId, { source: 'app', order: 'oldest', limit: 500, ...q })).items;
  const messages = async (deviceId: string) =>
    (await logsOf(s.api, deviceId)).map((r) => r.message);
  const cliEnv = () => ({
    ...process.env,
    BULWARK_HUB: t.url,
    BULWARK_API_KEY: s.apiKey,
    BULWARK_CA: t.caFile,
  });

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    dir = tempDir();
    const channelId = (await s.api.call('createChannel', { body: { name: 'logs' } })).id;
    a = await newAgent('logs-a', channelId);
    b = await newAgent('logs-b', channelId);
  });
  after(async () => {
    for (const x of agents) await x.stop();
    await t.close();
    cleanup(dir);
  });

  it('a line written to a tailed file is stored with its secret redacted, and bulwark logs shows it', async () => {
    appendFileSync(a.file, 'payment failed for user=ann token=tok_live_51Hsecret retrying\n');
    await waitFor(async () => (await messages(a.deviceId)).length > 0, 'the line at the hub');
    const [r] = await logsOf(s.api, a.deviceId);
    assert.equal(r!.message, 'payment failed for user=ann token=[REDACTED] retrying');
    assert.equal(r!.source, 'app');
    assert.equal(r!.level, 'info');
    assert.equal(r!.deviceId, a.deviceId);
    assert.ok(!(await messages(a.deviceId)).includes('history that is not shipped'));
    // Queries: a regular expression (linear-time engine), and one outside the subset refused.
    const re = await logsOf(s.api, a.deviceId, { grep: 'token=\\[REDACTED\\] retry', regex: true });
    assert.equal(re.length, 1);
    await assert.rejects(
      s.api.devices.logs(a.deviceId, { grep: '(a)\\1', regex: true }),
      (e: { code?: string; message: string }) =>
        e.code === 'log_query_invalid' && /linear-time/.test(e.message),
    );

    const json = await run(
      process.execPath,
      [BIN, 'logs', a.deviceId, '--source', 'app', '--json'],
      {
        env: cliEnv(),
      },
    );
    const out = JSON.parse(json.stdout) as { items: DeviceLogView[]; nextCursor: string | null };
    assert.deepEqual(
      out.items.map((i) => i.message),
      ['payment failed for user=ann token=[REDACTED] retrying'],
    );
    assert.equal(out.nextCursor, null);
    const text = await run(process.execPath, [BIN, 'logs', 'logs-a', '--grep', 'PAYMENT'], {
      env: cliEnv(),
    });
    assert.match(
      text.stdout,
      /info\s+app {2}payment failed for user=ann token=\[REDACTED\] retrying/,
    );
    assert.ok(!text.stdout.includes('tok_live'));
  });

  it('bulwark logs --follow prints a line written after it started', async () => {
    const p = spawnLines(
      [BIN, 'logs', a.deviceId, '--follow', '--source', 'app', '--timeout', '30'],
      {
        env: { BULWARK_HUB: t.url, BULWARK_API_KEY: s.apiKey, BULWARK_CA: t.caFile },
      },
    );
    try {
      await p.waitFor((l) => (l.includes('payment failed') ? true : undefined));
      appendFileSync(a.file, 'followed line 1\n');
      await p.waitFor((l) => (l.includes('followed line 1') ? true : undefined));
      appendFileSync(a.file, 'followed line 2\n');
      await p.waitFor((l) => (l.includes('followed line 2') ? true : undefined));
    } finally {
      p.child.kill('SIGINT');
      await p.exited;
    }
  });

  it('while the hub is down, lines are buffered on the device and delivered after, in order', async () => {
    await t.stop();
    await waitFor(() => !a.agent.connected, 'the agent to notice the hub is gone');
    const lines = ['outage 1', 'outage 2 password=hunter2', 'outage 3'];
    for (const l of lines) appendFileSync(a.file, `${l}\n`);
    await waitFor(() => a.agent.status().queue.logs.batches > 0, 'the batch on disk');
    await t.restart();
    await a.agent.whenConnected(20_000);
    await waitFor(
      async () => (await messages(a.deviceId)).includes('outage 3'),
      'the buffered lines at the hub',
      20_000,
    );
    const got = (await messages(a.deviceId)).filter((m) => m.startsWith('outage'));
    assert.deepEqual(got, ['outage 1', 'outage 2 password=[REDACTED]', 'outage 3']);
    await waitFor(() => a.agent.status().queue.logs.batches === 0, 'the buffer emptied on PUBACK');
  });

  it("another device cannot write this device's logs; a bad batch is refused with its reason", async () => {
    const id = b.agent.identity!;
    const c = mqtt.connect(`mqtts://127.0.0.1:${t.mqttPort}`, {
      ca: t.ca,
      cert: id.certPem + (id.chain[0] ?? ''),
      key: id.keyPem,
      clientId: b.deviceId,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    await new Promise<void>((res, rej) => {
      c.once('connect', () => res());
      c.once('error', rej);
    });
    const publish = (topic: string, body: unknown) =>
      new Promise<{ code: number; reason: string }>((res) =>
        c.publish(topic, JSON.stringify(body), { qos: 1 }, (err, packet) => {
          const p = packet as { reasonCode?: number; properties?: { reasonString?: string } };
          const e = err as { code?: number; message?: string } | undefined;
          res({
            code: e?.code ?? p?.reasonCode ?? 0,
            reason: p?.properties?.reasonString ?? e?.message ?? '',
          });
        }),
      );
    try {
      const forged = {
        records: [
          { ts: new Date().toISOString(), level: 'error', source: 'app', message: 'forged by b' },
        ],
      };
      const r = await publish(`$devices/${a.deviceId}/logs`, forged);
      assert.equal(r.code, 0x87, 'not authorized');
      const own = await publish(`$devices/${b.deviceId}/logs`, {
        records: [
          { ts: new Date().toISOString(), level: 'info', source: 'x', message: 'y'.repeat(9000) },
        ],
      });
      assert.equal(own.code, 0x99);
      assert.match(own.reason, /records\/0\/message|records\[0\]\.message|message/);
      assert.match(own.reason, /8192/);
      const ok = await publish(`$devices/${b.deviceId}/logs`, { ...forged, dropped: 7 });
      assert.equal(ok.code, 0, 'its own topic, within the limits: stored');
    } finally {
      c.end(true);
    }
    assert.ok(!(await messages(a.deviceId)).includes('forged by b'));
    const bLogs = (await s.api.devices.logs(b.deviceId, { order: 'oldest' })).items;
    const marker = bLogs.find((r) => r.source === 'hub');
    assert.equal(marker?.message, 'the device dropped 7 log records: its buffer was full');
    assert.deepEqual(marker?.fields, { dropped: 7 });
    assert.ok(
      bLogs.some((r) => r.message === 'forged by b'),
      'b may write its own',
    );
  });

  it('another organization gets 404, a key without devices:read 403', async () => {
    const anon = t.client();
    const owner = t.client(
      (await anon.auth.login({ email: 'owner@example.com', password: PASSWORD })).accessToken,
    );
    const org2 = await owner.orgs.create({ name: 'Elsewhere' });
    const other = t.client(
      (
        await anon.auth.login({
          email: 'owner@example.com',
          password: PASSWORD,
          organizationId: org2.id,
        })
      ).accessToken,
    );
    for (const call of [
      () => other.devices.logs(a.deviceId),
      () => other.devices.followLogs(a.deviceId, { wait: 0 }),
    ])
      await assert.rejects(call(), (e: { status?: number }) => e.status === 404);
    const { key } = await owner.apiKeys.create({ name: 'auditor', permissions: ['audit:read'] });
    await assert.rejects(
      t.client(key).devices.logs(a.deviceId),
      (e: { status?: number }) => e.status === 403,
    );
    const cli = await run(process.execPath, [BIN, 'logs', a.deviceId], {
      env: { ...cliEnv(), BULWARK_API_KEY: key },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.notEqual((cli as { code: number }).code, 0);
  });
});
