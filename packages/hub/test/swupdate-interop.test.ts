/**
 * SWUpdate's suricatta (hawkBit mode, Debian's build) against the hub's DDI API (decision 0012): a
 * signed .swu built here with cpio and openssl is deployed as a Bulwark job; suricatta polls,
 * downloads over HTTPS with its target token, verifies the CMS signature, installs the payload to
 * a file in a temp dir, and its feedback drives the job. After a "reboot" (restart with `-c 2`,
 * SWUpdate's confirm-success switch when it has no persistent bootloader state) it closes the
 * action and the job succeeds — with a target token and with the device certificate. A .swu signed
 * by an unknown key is refused and the job fails; a cancel asked mid-download is a request
 * suricatta confirms through the cancelAction resource, which ends the job canceled.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UpdateJobRecord } from '@bulwark/core';
import type { UpdateJobState } from '@bulwark/protocol';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { raw } from './helpers.js';
import { startDdiFixture, type DdiFixture } from './ddi-fixture.js';
import { buildSwu, makeSigner, SWU_HARDWARE } from './swu-image.js';

const TOOLS = ['swupdate', 'cpio', 'openssl'];
const missing = TOOLS.filter((tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0 && process.env['CI'] === 'true') {
  it('swupdate, cpio and openssl are installed (required when CI=true)', () =>
    assert.fail(`missing: ${missing.join(', ')} (apt-get install swupdate cpio openssl)`));
}
const skip =
  missing.length > 0
    ? `not installed: ${missing.join(', ')} (apt-get install swupdate cpio)`
    : false;

/** A controller with a target token (device key) or a client certificate (PEM files). */
type Controller = { id: string; key: string } | { id: string; cert: string; keyFile: string };

// Generous: suricatta polls every second here, but CI machines can be slow to spawn and verify.
const WAIT_MS = 60_000;

describe('SWUpdate (suricatta, hawkBit mode) against the hub', { skip }, () => {
  let f: DdiFixture;
  let dir: string;
  let signer: { key: string; cert: string };
  const running = new Set<ChildProcess>();

  before(async () => {
    f = await startDdiFixture(['--ddi-poll-seconds', '1']);
    dir = mkdtempSync(join(tmpdir(), 'bulwark-swu-'));
    signer = await makeSigner(dir);
  });
  after(async () => {
    for (const p of running) await stop(p);
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts suricatta for a device; its log goes to `<work>/swupdate.log`. */
  function suricatta(
    work: string,
    dev: Controller,
    opts: { confirm?: '2'; maxSpeed?: string } = {},
  ) {
    const cfg = join(work, 'swupdate.cfg');
    // The config file carries what the command line cannot: the hub's CA, a client certificate
    // (mutual TLS instead of a target token) and the attributes (`identify`) sent as config data.
    const tls = 'cert' in dev ? `  sslcert = "${dev.cert}";\n  sslkey = "${dev.keyFile}";\n` : '';
    writeFileSync(
      cfg,
      `globals : {\n  loglevel = 5;\n};\n` +
        `suricatta : {\n  cafile = "${f.t.hub.info.caFile}";\n${tls}  retry = 2;\n  retrywait = 1;\n};\n` +
        `identify : (\n  { name = "board"; value = "${SWU_HARDWARE.board}"; }\n);\n`,
    );
    const u = ['-t', f.orgId, '-u', f.t.url, '-i', dev.id, '-p', '1'];
    if ('key' in dev) u.push('-k', dev.key);
    if (opts.confirm) u.push('-c', opts.confirm);
    if (opts.maxSpeed) u.push('-n', opts.maxSpeed);
    const args = [
      '-f',
      cfg,
      '-l',
      '5',
      '-H',
      `${SWU_HARDWARE.board}:${SWU_HARDWARE.revision}`,
      '-k',
      signer.cert,
      '--cert-purpose',
      'codeSigning',
      '-u',
      u.join(' '),
    ];
    // TMPDIR: SWUpdate's IPC sockets and scratch files stay in this test's directory.
    const p = spawn('swupdate', args, {
      cwd: work,
      env: { ...process.env, TMPDIR: work },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: Buffer[] = [];
    p.stdout?.on('data', (c: Buffer) => log.push(c));
    p.stderr?.on('data', (c: Buffer) => log.push(c));
    p.on('exit', () => writeFileSync(join(work, 'swupdate.log'), Buffer.concat(log)));
    running.add(p);
    return { p, log: () => Buffer.concat(log).toString('utf8') };
  }

  async function stop(p: ChildProcess): Promise<void> {
    running.delete(p);
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  /** Waits (bounded) until the job reaches one of `states`; fails with the swupdate log if not. */
  async function until(
    jobId: string,
    states: UpdateJobState[],
    run: { p: ChildProcess; log: () => string },
    extra: (job: UpdateJobRecord) => boolean = () => true,
  ): Promise<UpdateJobRecord> {
    const end = Date.now() + WAIT_MS;
    let job = await f.job(jobId);
    while (Date.now() < end && run.p.exitCode === null && run.p.signalCode === null) {
      job = await f.job(jobId);
      if (states.includes(job.state) && extra(job)) return job;
      await sleep(200);
    }
    const log = run.log;
    assert.fail(
      `job still ${job.state} (wanted ${states.join('|')}; swupdate exit ${run.p.exitCode})\n` +
        `history: ${JSON.stringify(job.history)}\nswupdate log (tail):\n${log().slice(-4000)}`,
    );
  }

  /** Deploy → suricatta installs → restart with confirm → succeeded; checks the file and records. */
  async function installAndConfirm(name: string, dev: Controller, counter: number): Promise<void> {
    const work = mkdtempSync(join(dir, `${name}-`));
    const payload = randomBytes(150_000);
    const target = join(work, 'installed.bin');
    const version = `1.${counter}.0`;
    const file = `app-${version}.swu`;
    const swu = await buildSwu({ dir: work, name: file, version, payload, target, signer });
    const artifactId = await f.artifact(swu, file, version, counter);
    const job = await f.deploy(dev.id, artifactId);

    const first = suricatta(work, dev);
    const installed = () => existsSync(target) && readFileSync(target).equals(payload);
    // Installed and reported as still in progress: SWUpdate waits for the reboot to confirm.
    const mid = await until(
      job.id,
      ['downloading'],
      first,
      (j) => installed() && j.history.some((h) => h.message === 'All Chunks Installed.'),
    );
    assert.ok(installed());
    assert.ok(mid.history.some((h) => h.state === 'delivered'));
    await stop(first.p);

    // "Reboot": SWUpdate starts again and reports the update as tested good.
    const second = suricatta(work, dev, { confirm: '2' });
    const done = await until(job.id, ['succeeded', 'failed'], second);
    await stop(second.p);
    assert.equal(done.state, 'succeeded', JSON.stringify(done.history));
    assert.deepEqual(
      done.history.filter((h) => h.event === undefined).map((h) => h.state),
      ['queued', 'delivered', 'downloading', 'succeeded'],
    );
    // Every feedback message is kept (decision 0015), not only the first of each state: each of
    // suricatta's progress lines (its log, too), then the confirmation.
    const said = done.history.map((h) => h.message ?? '');
    for (const m of [
      'Installing Update Chunk Artifacts.',
      'Installed Chunk.',
      'All Chunks Installed.',
    ])
      assert.ok(said.includes(m), `${m} in ${JSON.stringify(said)}`);
    assert.equal(said.at(-1), 'Update Installed.');
    // The device record takes the version from the (confirmed) report.
    const device = await raw(f.t, 'GET', `/devices/${dev.id}`, undefined, f.token);
    assert.equal(device.json['firmwareVersion'], version);
    // suricatta sent its `identify` attributes as config data.
    const twin = await raw(f.t, 'GET', `/devices/${dev.id}/twin`, undefined, f.token);
    assert.deepEqual(
      (twin.json['reported'] as { state: { ddi: { attributes: unknown } } }).state.ddi.attributes,
      { board: SWU_HARDWARE.board },
    );
  }

  it('installs a signed .swu deployed from the hub; the confirmation after restart succeeds the job', async () => {
    await installAndConfirm('token', await f.device('swu-token'), 5);
  });

  it('does the same with the device certificate (mutual TLS) instead of a target token', async () => {
    const d = await f.t.client(f.token).devices.create({ name: 'swu-mtls', type: 'gateway' });
    const { token: enrol } = await f.t.client(f.token).devices.createEnrollmentToken(d.id, {});
    const k = await generateDeviceKeyAndCsr();
    const cert = (await f.t.client().enroll({ token: enrol, csr: k.csrPem })).certificate;
    const certFile = join(dir, 'device.cert.pem');
    const keyFile = join(dir, 'device.key.pem');
    writeFileSync(certFile, cert);
    writeFileSync(keyFile, k.keyPem, { mode: 0o600 });
    await installAndConfirm('mtls', { id: d.id, cert: certFile, keyFile }, 7);
  });

  it("refuses a .swu signed by an unknown key: the job fails with SWUpdate's reason", async () => {
    const work = mkdtempSync(join(dir, 'bad-'));
    const stranger = await makeSigner(work, 'stranger');
    const target = join(work, 'installed.bin');
    const swu = await buildSwu({
      dir: work,
      name: 'app-1.2.0.swu',
      version: '1.2.0',
      payload: randomBytes(20_000),
      target,
      signer: stranger,
    });
    const artifactId = await f.artifact(swu, 'app-1.2.0.swu', '1.2.0', 9);
    const dev = await f.device('swu-bad');
    const job = await f.deploy(dev.id, artifactId);
    const run = suricatta(work, dev);
    const failed = await until(job.id, ['failed', 'succeeded'], run);
    await stop(run.p);
    assert.equal(failed.state, 'failed', JSON.stringify(failed.history));
    assert.equal(failed.reason, 'install_failed');
    // Debian's SWUpdate (2022.12) always closes with a generic "No suitable .swu image found";
    // whether the error lines collected before it (signature) make it into the same feedback is
    // a race inside SWUpdate. Its own log always names the cause, which must be the signature —
    // and since every feedback message is kept (decision 0015), so does the job's history: the
    // log lines suricatta sent while it ran name it — or, when the installer has already closed
    // its IPC stream on the bad signature before suricatta forwards the line (seen once in CI),
    // the download cut short by that close.
    assert.match(failed.message ?? '', /No suitable \.swu image found$/);
    assert.match(run.log(), /Authentication of all signatures failed/);
    assert.match(
      failed.history.map((h) => h.message ?? '').join('\n'),
      /Authentication of all signatures failed|Writing into SWUpdate IPC stream failed/,
      JSON.stringify(failed.history),
    );
    assert.equal(existsSync(target), false);
  });

  it('stops a download when a cancel is asked (cancelAction); its confirmation cancels the job', async () => {
    const work = mkdtempSync(join(dir, 'cancel-'));
    const target = join(work, 'installed.bin');
    const payload = randomBytes(400_000);
    const swu = await buildSwu({
      dir: work,
      name: 'app-1.3.0.swu',
      version: '1.3.0',
      payload,
      target,
      signer,
    });
    const artifactId = await f.artifact(swu, 'app-1.3.0.swu', '1.3.0', 10);
    const dev = await f.device('swu-cancel');
    const job = await f.deploy(dev.id, artifactId);
    // 40 KiB/s: the download takes ~10 s, and suricatta checks for a cancel every poll (1 s).
    const run = suricatta(work, dev, { maxSpeed: '40k' });
    await until(job.id, ['downloading'], run);
    // A request (decision 0015): the job stays downloading until suricatta confirms it.
    const asked = await f.t.hub.services.updates.cancel(f.orgId, job.id, {
      type: 'system',
      id: null,
    });
    assert.equal(asked.state, 'downloading');
    assert.ok(asked.cancelRequested);
    const canceled = await until(job.id, ['canceled'], run);
    await stop(run.p);
    assert.equal(canceled.cancelRequested, null);
    const end = canceled.history.at(-1);
    assert.deepEqual(
      [end?.state, end?.reason, end?.message, end?.by],
      ['canceled', 'canceled', 'cancellation acknowledged.', undefined],
      'confirmed by the controller',
    );
    assert.ok(canceled.history.some((h) => h.event === 'cancel_requested' && h.by === 'system'));
    // Nothing was installed. SWUpdate streams an image to its target as it downloads, so when the
    // cancel lands after the image began (a loaded machine), part of it may be there — never all.
    assert.ok(
      !existsSync(target) || readFileSync(target).length < payload.length,
      'the image was not installed',
    );
  });
});
