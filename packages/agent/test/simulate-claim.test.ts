/**
 * Claim-based provisioning of a simulated batch (decision 0027): 100 devices share one claim
 * token, each makes its own key and claims its own identity on first boot, and the batch comes up
 * with 100 distinct identities — device ids, certificates and keys — under the claim's template.
 * A claim revoked meanwhile stops the rest of a batch; an agent of another type is refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Simulator } from '../src/sim/simulator.js';
import { BIN } from './process-helpers.js';
import { PASSWORD, setupOwner, startTestHub, type TestHub } from './helpers.js';

const N = 100;
const run = promisify(execFile);

describe('simulator: a batch provisioned by one claim', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const sims: Simulator[] = [];
  let batchToken = '';
  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
  });
  after(async () => {
    for (const sim of sims) await sim.stop();
    await t.close();
  });

  const simulate = (claim: string, devices: number, prefix: string, deviceType = 'sim-v2') => {
    const sim = new Simulator({
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      ca: t.ca,
      claim,
      devices,
      prefix,
      deviceType,
      backoffMinMs: 100,
      backoffMaxMs: 1000,
    });
    sims.push(sim);
    return sim;
  };

  it(`${N} devices sharing one claim come up with ${N} distinct identities`, async () => {
    const channelId = (await s.api.call('createChannel', { body: { name: 'batch' } })).id;
    const { claim, token } = await s.api.provisioning.createClaim({
      name: 'batch 2026-12',
      template: {
        type: 'sim-v2',
        tags: ['batch:2026-12'],
        channels: [{ channelId, publish: true, subscribe: false }],
      },
      maxDevices: N,
      ttlSeconds: 3600,
      hardwarePattern: 'b1-hw-*',
    });
    batchToken = token;
    const sim = simulate(token, N, 'b1');
    const t0 = Date.now();
    await sim.start();
    await sim.waitConnected(N, 120_000);
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(`# ${N} devices claimed and connected in ${seconds.toFixed(1)} s\n`);
    const ids = sim.devices.map((d) => d.agent.identity?.deviceId);
    assert.equal(new Set(ids).size, N);
    assert.ok(ids.every((id) => typeof id === 'string' && id !== ''));
    const serials = sim.devices.map((d) => d.agent.identity?.serial);
    assert.equal(new Set(serials).size, N);
    const keys = sim.devices.map((d) =>
      createHash('sha256')
        .update(
          new X509Certificate(d.agent.identity!.certPem).publicKey.export({
            type: 'spki',
            format: 'der',
          }),
        )
        .digest('hex'),
    );
    assert.equal(new Set(keys).size, N);
    const listed = [];
    for await (const d of s.api.devices.all({ tag: 'batch:2026-12', limit: 500 })) listed.push(d);
    assert.equal(listed.length, N);
    assert.ok(listed.every((d) => d.type === 'sim-v2' && d.state === 'active'));
    assert.deepEqual(new Set(listed.map((d) => d.id)), new Set(ids));
    assert.equal(listed.find((d) => d.id === ids[0])?.name, 'sim-v2-b1-hw-0001');
    assert.equal((await s.api.provisioning.getClaim(claim.id)).usedCount, N);
    const conns = await s.api.channels.connections(channelId);
    assert.equal(conns.filter((c) => c.publish).length, N);
    const login = await t.client().auth.login({ email: 'owner@example.com', password: PASSWORD });
    const audited = await t
      .client(login.accessToken)
      .audit.list({ action: 'claimDevice', limit: 500 });
    assert.equal(audited.items.filter((r) => r.result === 'success').length, N);
  });

  it('bulwark simulate --token-file refuses a claim beside it and a count that does not match', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-tokens-'));
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, 'one-token\nanother-token\n', { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { ...process.env, BULWARK_API_KEY: '' };
    delete env['NODE_TEST_CONTEXT'];
    const common = ['--hub', t.url, '--ca', t.caFile, '--token-file', tokens];
    for (const [extra, message] of [
      [['--claim-file', tokens], '--claim-file and --token-file do not go together'],
      [['--devices', '3'], '--token-file holds 2 tokens; --devices is 3'],
    ] as const) {
      await assert.rejects(
        run(process.execPath, [BIN, 'simulate', ...common, ...extra], { encoding: 'utf8', env }),
        (err: { code?: number; stderr?: string }) =>
          err.code === 2 && (err.stderr ?? '').includes(message),
      );
    }
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    await assert.rejects(
      run(process.execPath, [BIN, 'simulate', '--hub', t.url, '--token-file', empty], {
        encoding: 'utf8',
        env,
      }),
      (err: { code?: number; stderr?: string }) =>
        err.code === 2 && (err.stderr ?? '').includes('holds no token'),
    );
  });

  it('bulwark simulate --claim-file runs a batch with no API key', async () => {
    const { token } = await s.api.provisioning.createClaim({
      name: 'cli batch',
      template: { type: 'sim-v2' },
      maxDevices: 3,
      ttlSeconds: 3600,
    });
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-claim-'));
    const claimFile = join(dir, 'claim.token');
    writeFileSync(claimFile, `${token}\n`, { mode: 0o600 });
    // The command runs as a process of its own, not as part of this test run.
    const env: NodeJS.ProcessEnv = { ...process.env, BULWARK_API_KEY: '' };
    delete env['NODE_TEST_CONTEXT'];
    const r = await run(
      process.execPath,
      [
        BIN,
        'simulate',
        '--devices',
        '3',
        '--prefix',
        'cli',
        '--type',
        'sim-v2',
        '--claim-file',
        claimFile,
        '--hub',
        t.url,
        '--ca',
        t.caFile,
        '--mqtt',
        `mqtts://127.0.0.1:${t.mqttPort}`,
        // Long enough for three claims and connects on a loaded CI machine; the command returns
        // when it ends (its summary counts who connected by then).
        '--duration',
        '15',
        '--json',
      ],
      { encoding: 'utf8', timeout: 60_000, env },
    );
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { connected: number };
    assert.equal(summary.connected, 3);
    const names = [];
    for await (const d of s.api.devices.all({ q: 'sim-v2-cli-hw-', limit: 10 })) names.push(d.name);
    assert.equal(names.length, 3);
  });

  it('the claim is used up: one more device of the batch is refused and gets no identity', async () => {
    const extra = simulate(batchToken, 1, 'b1-hw-extra');
    await extra.start();
    assert.equal(extra.devices[0]?.agent.identity, undefined);
    await extra.stop();
    const [first] = (await s.api.provisioning.listClaims()).filter(
      (c) => c.name === 'batch 2026-12',
    );
    assert.equal(first?.usedCount, N);
  });

  it('a revoked claim provisions nobody; an agent of another type is refused', async () => {
    const { claim, token } = await s.api.provisioning.createClaim({
      name: 'revoked batch',
      template: { type: 'sim-v2' },
      maxDevices: 10,
      ttlSeconds: 3600,
    });
    await s.api.provisioning.revokeClaim(claim.id);
    const revoked = simulate(token, 2, 'b2');
    await revoked.start();
    assert.ok(revoked.devices.every((d) => d.agent.identity === undefined));
    await revoked.stop();
    const other = await s.api.provisioning.createClaim({
      name: 'gateways',
      template: { type: 'gateway' },
      maxDevices: 10,
      ttlSeconds: 3600,
    });
    const wrong = simulate(other.token, 2, 'b3', 'sim-v2');
    const failures: string[] = [];
    await wrong.start();
    for (const d of wrong.devices) {
      assert.equal(d.agent.identity, undefined);
      failures.push(String(d.agent.status().enrolled));
    }
    assert.deepEqual(failures, ['false', 'false']);
    assert.equal((await s.api.provisioning.getClaim(other.claim.id)).usedCount, 0);
  });
});
