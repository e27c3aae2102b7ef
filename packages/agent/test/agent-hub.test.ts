import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { Agent } from '../src/agent.js';
import { DirFiles } from '../src/files/dir-files.js';
import { SyntheticSystem } from '../src/sim/synthetic-system.js';
import {
  FakeClock,
  agentConfig,
  channelPayloads,
  cleanup,
  provisionDevice,
  setupOwner,
  startTestHub,
  nextEvent,
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';

describe('agent against a real hub: enrollment, call home, offline queue, renewal', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  const dirs: string[] = [];
  const agents: Agent[] = [];

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    channelId = (await s.api.call('createChannel', { body: { name: 'telemetry' } })).id;
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await t.close();
    cleanup(...dirs);
  });

  async function newAgent(name: string, extra: Record<string, unknown> = {}, clock?: FakeClock) {
    const { deviceId, token } = await provisionDevice(s.api, name, channelId);
    const dir = tempDir();
    dirs.push(dir);
    const files = await DirFiles.open(dir);
    const agent = new Agent({
      config: agentConfig(t, dir, { enrollment: { token }, ...extra }),
      files,
      system: new SyntheticSystem(),
      ...(clock ? { clock } : {}),
    });
    agents.push(agent);
    return { agent, deviceId, dir, files };
  }

  it('enrolls with the one-time token, keeps the key 0600, connects and announces presence', async () => {
    const { agent, deviceId, dir } = await newAgent('enroll-1');
    await agent.start();
    await agent.whenConnected(15_000);
    assert.equal(agent.deviceId, deviceId);
    const key = join(dir, 'identity', 'key-1.pem');
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const certs = await s.api.call('listCertificates', { params: { id: deviceId } });
    assert.equal(certs.length, 1);
    assert.equal(certs[0]!.serial, agent.identity!.serial);
  });

  it('telemetry published while connected is stored by the hub', async () => {
    const { agent } = await newAgent('telemetry-1');
    await agent.start();
    await agent.whenConnected(15_000);
    await agent.publish(channelId, 'room1', '{"n":"t","v":1}', 'application/json');
    await agent.flush();
    const got = await channelPayloads(s.api, channelId);
    assert.ok(got.includes('{"n":"t","v":1}'));
  });

  it('queues telemetry while the hub is down and delivers all of it, in order, after a restart on the same data dir and port', async () => {
    const { agent } = await newAgent('restart-1');
    await agent.start();
    await agent.whenConnected(15_000);
    const before = (await channelPayloads(s.api, channelId)).length;
    await t.stop();
    await waitFor(() => !agent.connected, 'the agent to notice the hub is gone');
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      const p = `restart-${String(i).padStart(3, '0')}`;
      sent.push(p);
      await agent.publish(channelId, 'seq', p, 'text/plain');
    }
    assert.equal(agent.status().queue.telemetry.messages, 50);
    await t.restart();
    await agent.whenConnected(20_000);
    await agent.flush(20_000);
    const got = (await channelPayloads(s.api, channelId))
      .slice(before)
      .filter((p) => p.startsWith('restart-'));
    assert.deepEqual(got, sent);
  });

  it('renews its certificate over mutual TLS once two thirds of its lifetime have passed', async () => {
    const clock = new FakeClock();
    const { agent, deviceId } = await newAgent('renew-1', {}, clock);
    await agent.start();
    await agent.whenConnected(15_000);
    const first = agent.identity!;
    assert.equal(await agent.maybeRenew(), false, 'not due yet');
    clock.advance(Math.ceil(((first.notAfter - first.notBefore) * 2) / 3) + 1000);
    const reconnected = nextEvent(agent, 'connected');
    assert.equal(await agent.maybeRenew(), true);
    const next = agent.identity!;
    assert.equal(next.generation, 2);
    assert.notEqual(next.serial, first.serial);
    assert.notEqual(next.keyPem, first.keyPem, 'the key is rotated');
    assert.ok(new X509Certificate(next.certPem).checkPrivateKey !== undefined);
    await reconnected;
    const certs = await s.api.call('listCertificates', { params: { id: deviceId } });
    assert.ok(certs.some((c) => c.serial === next.serial));
  });

  it('switches to the renewed certificate within the overlap: the old one is refused after it, the agent keeps working', async () => {
    const clock = new FakeClock();
    const { agent, deviceId } = await newAgent('renew-2', {}, clock);
    await agent.start();
    await agent.whenConnected(15_000);
    const old = agent.identity!;
    clock.advance(Math.ceil(((old.notAfter - old.notBefore) * 2) / 3) + 1000);
    const reconnected = nextEvent(agent, 'connected');
    assert.equal(await agent.maybeRenew(), true);
    await reconnected; // on the new certificate, well within the hub's overlap
    const asOld = () =>
      undiciFetch(`${t.url}/api/v1/firmware/root`, {
        dispatcher: new UndiciAgent({ connect: { ca: t.ca, cert: old.certPem, key: old.keyPem } }),
      }).then(async (r) => ((await r.json()) as { code: string }).code);
    assert.equal(await asOld(), 'firmware_root_missing', 'still valid during the overlap');
    // the hub's clock passes the overlap (one hour by default), and the retirement pass runs
    t.clock.advance(3600_000);
    assert.equal(await asOld(), 'certificate_superseded');
    await t.hub.services.pki.retireSuperseded();
    assert.equal(await asOld(), 'certificate_revoked');
    const certs = await s.api.call('listCertificates', { params: { id: deviceId } });
    assert.equal(certs.find((c) => c.serial === old.serial)?.revocationReason, 'superseded');
    assert.equal(certs.find((c) => c.serial === agent.identity!.serial)?.revokedAt, null);
    // the agent, on its new certificate, still delivers
    await agent.whenConnected(15_000);
    await agent.publish(channelId, 'after-renewal', '{"n":"t","v":2}', 'application/json');
    await agent.flush(15_000);
    assert.ok((await channelPayloads(s.api, channelId)).includes('{"n":"t","v":2}'));
  });
});
