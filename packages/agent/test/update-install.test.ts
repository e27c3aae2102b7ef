/**
 * The install path end to end on one device (in process, real hub for the image over mutual TLS):
 * success only after the health check, a flipped byte and a too-long image refused with the reason,
 * a cut connection resumed at the persisted offset, a failing or silent health check rolled back to
 * the previous slot, a cancel refused once the new slot is active.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './helpers.js';
import { finalStatus, startProxiedRig } from './update-device.js';
import { makeImage } from './update-fixtures.js';
import { FACTORY, sha, type Proxy, type Rig } from './update-rig.js';

describe('agent install path', () => {
  let env: Awaited<ReturnType<typeof startProxiedRig>>;
  let rig: Rig;
  let proxy: Proxy;
  const image = makeImage(1_500_000, 17);
  let art: Awaited<ReturnType<Rig['artifact']>>;

  before(async () => {
    env = await startProxiedRig('bulwark-update-install-');
    ({ rig, proxy } = env);
    art = await rig.artifact(image);
  });
  after(() => env?.close());

  const device = (name: string, o: Parameters<typeof env.device>[1] = {}) => env.device(name, o);

  it('reports succeeded only after the new slot booted and passed the health check', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    let checked = 0;
    const d = await device('ok', {
      health: async () => {
        checked++;
        await gate;
      },
    });
    rig.send(d.deviceId, 'job-ok', rig.offer('job-ok', art));
    await waitFor(() => checked > 0, 'the health check after the reboot', 30_000);
    const states: string[] = rig.statuses(d.deviceId, 'job-ok').map((s) => s.state);
    assert.equal(d.reboots, 1);
    assert.ok(
      !states.includes('succeeded'),
      `no success before the health check: ${states.join()}`,
    );
    for (const s of ['downloading', 'downloaded', 'installing', 'rebooting'])
      assert.ok(states.includes(s), `${s} reported: ${states.join()}`);
    assert.equal((await d.slots.booted()).slot, 'b');
    assert.equal((await d.slots.readControl()).slots.b.good, false, 'not committed yet');
    open();
    const s = await finalStatus(rig, d, 'job-ok');
    assert.equal(s.state, 'succeeded');
    assert.deepEqual(s.installed, {
      type: 'sensor',
      hardware: 'rev-a',
      version: '2.0.0',
      releaseCounter: 6,
      slot: 'b',
    });
    const c = await d.slots.readControl();
    assert.deepEqual([c.primary, c.slots.b.good, c.slots.a.good], ['b', true, true]);
    await waitFor(() => rig.installed(d.deviceId).at(-1)?.version === '2.0.0', 'firmware report');
    const progress = rig.statuses(d.deviceId, 'job-ok').filter((x) => x.state === 'downloading');
    assert.ok(
      progress.length >= 2 && progress.length <= 40,
      `throttled progress: ${progress.length}`,
    );
    assert.equal(progress.at(-1)!.progress!.total, image.byteLength);
  });

  it('fails a flipped byte (hash_mismatch) and keeps running the old slot', async () => {
    const d = await device('flipped');
    const bad = Buffer.from(image);
    bad[777_777] = bad[777_777]! ^ 0x10;
    rig.send(
      d.deviceId,
      'job-flip',
      rig.offer('job-flip', { ...art, metadata: rig.signing.release(bad) }),
    );
    const s = await finalStatus(rig, d, 'job-flip');
    assert.deepEqual([s.state, s.reason], ['failed', 'hash_mismatch'], s.message);
    // The whole image was fetched before the check: the job's last figure says so.
    assert.deepEqual(s.progress, { bytes: image.byteLength, total: image.byteLength });
    const c = await d.slots.readControl();
    assert.deepEqual([c.primary, c.slots.a.good, c.slots.b.good], ['a', true, false]);
    assert.equal(d.reboots, 0);
  });

  it('refuses an image longer than its metadata says (length_mismatch) before installing', async () => {
    const d = await device('long');
    const short = image.subarray(0, image.byteLength - 100);
    const metadata = rig.signing.release(short, { length: short.byteLength, sha256: sha(short) });
    rig.send(d.deviceId, 'job-long', rig.offer('job-long', { ...art, metadata }));
    const s = await finalStatus(rig, d, 'job-long');
    assert.deepEqual([s.state, s.reason], ['failed', 'length_mismatch'], s.message);
    assert.equal((await d.slots.readControl()).primary, 'a');
    assert.equal(await d.slots.readManifest('b'), undefined);
    assert.equal(d.reboots, 0);
  });

  it('resumes a cut download from the persisted offset, not from 0', async () => {
    const d = await device('cut');
    const start = proxy.bytesDown;
    proxy.cutAtBytes = start + 900_000;
    rig.send(d.deviceId, 'job-cut', rig.offer('job-cut', art));
    const s = await finalStatus(rig, d, 'job-cut', 60_000);
    assert.equal(s.state, 'succeeded', s.message);
    assert.ok(d.fetches.length >= 2, `fetches ${d.fetches.join()}`);
    assert.equal(d.fetches[0], 0);
    const resumedAt = d.fetches[1]!;
    assert.ok(resumedAt >= 500_000, `resumed at ${resumedAt}`);
    // Restarting from 0 would have brought the image plus the cut part down again.
    const down = proxy.bytesDown - start;
    assert.ok(down < image.byteLength + resumedAt / 2, `${down} bytes came down`);
  });

  it('refuses a cancel once the boot pointer moved (too_late) and carries the job to its end', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    let checked = 0;
    const d = await device('late-cancel', {
      health: async () => {
        checked++;
        await gate;
      },
    });
    rig.send(d.deviceId, 'job-late', rig.offer('job-late', art));
    await waitFor(() => checked > 0, 'the health check after the reboot', 30_000);
    // The hub asks to cancel now: too late, the new slot is active (decision 0015).
    rig.send(d.deviceId, 'job-late', { action: 'cancel', id: 'job-late' });
    const refused = () => rig.statuses(d.deviceId, 'job-late').find((s) => s.cancel === 'refused');
    await waitFor(() => refused() !== undefined, 'the refusal of the cancel');
    assert.deepEqual([refused()?.state, refused()?.reason], ['rebooting', 'too_late']);
    assert.equal((await d.slots.booted()).slot, 'b', 'nothing undone');
    open();
    const s = await finalStatus(rig, d, 'job-late');
    assert.equal(s.state, 'succeeded', s.message);
    assert.equal(s.installed?.slot, 'b');
  });

  it('rolls back a new slot that fails its health check, and reports it', async () => {
    const d = await device('sick', {
      health: async () => {
        // Healthy on the factory slot, sick on the new one.
        if ((await d.slots.booted()).slot === 'b') throw new Error('the app does not start');
      },
    });
    rig.send(d.deviceId, 'job-sick', rig.offer('job-sick', art));
    const s = await finalStatus(rig, d, 'job-sick', 60_000);
    assert.deepEqual([s.state, s.reason], ['rolled_back', 'health_check_failed'], s.message);
    assert.match(s.message ?? '', /the app does not start/);
    assert.equal(s.installed?.version, FACTORY.version);
    assert.equal(s.installed?.slot, 'a');
    assert.equal(d.reboots, 2, 'into the new slot, and back');
    assert.equal((await d.slots.booted()).slot, 'a');
    const c = await d.slots.readControl();
    assert.deepEqual([c.primary, c.slots.a.good, c.slots.b.good], ['a', true, false]);
  });

  it('rolls back when a configured health command fails', async () => {
    const probe = { name: 'probe', command: [process.execPath, '-e', 'process.exit(3)'] };
    const d = await device('probe', { update: { healthChecks: [probe] } });
    rig.send(d.deviceId, 'job-probe', rig.offer('job-probe', art));
    const s = await finalStatus(rig, d, 'job-probe', 60_000);
    assert.deepEqual([s.state, s.reason], ['rolled_back', 'health_check_failed'], s.message);
    assert.match(s.message ?? '', /check probe: exit code 3/);
    assert.equal((await d.slots.booted()).slot, 'a');
  });

  it('installs on in-memory slots and files, as a simulated device does', async () => {
    const d = await device('memory', { memory: true });
    rig.send(d.deviceId, 'job-mem', rig.offer('job-mem', art));
    const s = await finalStatus(rig, d, 'job-mem', 60_000);
    assert.equal(s.state, 'succeeded', s.message);
    assert.equal(s.installed?.slot, 'b');
    assert.equal((await d.slots.readManifest('b'))?.sha256, sha(image));
    assert.equal(d.reboots, 1);
  });

  it('rolls back a new slot that gives no verdict within healthTimeoutSeconds', async () => {
    const d = await device('silent', {
      update: { healthTimeoutSeconds: 2 },
      health: async (signal) => {
        if ((await d.slots.booted()).slot !== 'b') return;
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
    });
    rig.send(d.deviceId, 'job-silent', rig.offer('job-silent', art));
    const s = await finalStatus(rig, d, 'job-silent', 60_000);
    assert.deepEqual([s.state, s.reason], ['rolled_back', 'health_check_failed'], s.message);
    assert.match(s.message ?? '', /no verdict within 2 s/);
    assert.equal((await d.slots.booted()).slot, 'a');
  });
});
