/**
 * Issue 13 item 5: the backup and restore procedure of docs/operations/backup.md, run as written.
 * A hub process holds devices, telemetry, a firmware image and an audit trail; it is backed up
 * while it runs (SQLite: the sqlite3 CLI's online `.backup`; PostgreSQL: `pg_dump -Fc`), with the
 * blobs directory and master.key; then more is written, the hub stops, and a hub started on the
 * restored copy must hold exactly the backed-up state: the device's certificate is still accepted
 * (the CA keys are sealed by master.key), the image's bytes match, the audit chain verifies. A
 * restore without the right master.key must refuse to start and say why, never make a new CA.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { requirePostgres, withPostgresSchemas } from '@bulwark/testkit';
import { hubChild, type ChildRuntime, type HubChild } from './hub-child.js';
import { connectCollecting, publishAcked } from './mqtt-state-helpers.js';
import { signingKeys } from './signing-fixture.js';

const BIN = new URL('../../../cli/bin/bulwark.js', import.meta.url).pathname;
const pgSkip = await requirePostgres();
const schemas = withPostgresSchemas();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Device {
  id: string;
  cert: string;
  key: string;
}

/** Publishes `payloads` with the device's own certificate, each acknowledged after it is stored. */
async function publish(rt: ChildRuntime, dev: Device, channelId: string, payloads: string[]) {
  const ca = readFileSync(rt.caFile, 'utf8');
  const c = await connectCollecting(rt.mqttPort, {
    ca,
    cert: dev.cert,
    key: dev.key,
    clientId: dev.id,
  });
  try {
    for (const p of payloads)
      await publishAcked(c.client, `channels/${channelId}/messages/backup`, p, { qos: 1 });
  } finally {
    await c.end();
  }
}

async function storedPayloads(hub: HubChild, rt: ChildRuntime, channelId: string) {
  const out: string[] = [];
  for await (const m of hub.api(rt).channels.allMessages(channelId))
    out.push(Buffer.from((m as { payload: string }).payload, 'base64').toString());
  return out.sort();
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(
    `backup while running, restore elsewhere (${backend}; docs/operations/backup.md)`,
    { skip: backend === 'postgres' ? pgSkip : false, timeout: 240_000 },
    () => {
      const schema = backend === 'postgres' ? schemas.next() : '';
      const restoredDb = `bulwark_restore_${randomBytes(4).toString('hex')}`;
      const dbArgs = (url: string) =>
        backend === 'postgres' ? ['--database', url, '--database-schema', schema] : [];
      const backup = mkdtempSync(join(tmpdir(), 'bulwark-backup-'));
      const image = randomBytes(200_000);
      let hub: HubChild;
      let restored: HubChild | undefined;
      let channelId: string;
      let artifactId: string;
      let dev: Device;
      const before5 = ['m1', 'm2', 'm3', 'm4', 'm5'];

      before(async () => {
        hub = hubChild(dbArgs(schemas.url));
        const rt = await hub.start();
        const api = hub.api(rt);
        channelId = (await api.call('createChannel', { body: { name: 'backed-up' } })).id;
        const d = await api.devices.create({ name: 'dev-1', type: 'gateway' });
        await api.channels.connect(channelId, {
          clientType: 'device',
          clientId: d.id,
          publish: true,
          subscribe: true,
        });
        const { token } = await api.devices.createEnrollmentToken(d.id, {});
        const k = await generateDeviceKeyAndCsr();
        const { certificate } = await hub.anon(rt).enroll({ token, csr: k.csrPem });
        dev = { id: d.id, cert: certificate, key: k.keyPem };
        await publish(rt, dev, channelId, before5);
        const keys = signingKeys('ed25519');
        await api.firmware.pushRoot(keys.root);
        const meta = keys.release(image, {
          name: 'gw-1.0.0.img',
          version: '1.0.0',
          releaseCounter: 1,
        });
        artifactId = (await api.firmware.uploadImage((await api.firmware.create(meta)).id, image))
          .id;

        // The backup, taken while the hub runs — the database first, then what it refers to.
        if (backend === 'sqlite') {
          execFileSync('sqlite3', [
            join(hub.dir, 'bulwark.db'),
            `.backup '${join(backup, 'bulwark.db')}'`,
          ]);
        } else {
          execFileSync('pg_dump', [
            '-Fc',
            '-n',
            schema,
            '-f',
            join(backup, 'bulwark.dump'),
            schemas.url,
          ]);
        }
        cpSync(join(hub.dir, 'blobs'), join(backup, 'blobs'), { recursive: true });
        cpSync(join(hub.dir, 'master.key'), join(backup, 'master.key'));

        // Written after the backup: not in the restored hub.
        await publish(rt, dev, channelId, ['after-backup']);
        await hub.stop();
      });
      after(async () => {
        await restored?.kill();
        await hub?.kill();
        restored?.remove();
        hub?.remove();
        rmSync(backup, { recursive: true, force: true });
        if (backend === 'postgres') {
          const c = new pg.Client({ connectionString: schemas.url });
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS ${restoredDb}`);
          await c.end();
        }
      });

      /** Restores the backup into a new data dir (and database); `key` replaces master.key. */
      function restore(key?: string): { extra: string[]; dir: string } {
        const dir = mkdtempSync(join(tmpdir(), 'bulwark-restored-'));
        chmodSync(dir, 0o700);
        cpSync(join(backup, 'blobs'), join(dir, 'blobs'), { recursive: true });
        writeFileSync(join(dir, 'master.key'), key ?? readFileSync(join(backup, 'master.key')), {
          mode: 0o600,
        });
        if (backend === 'sqlite') {
          cpSync(join(backup, 'bulwark.db'), join(dir, 'bulwark.db'));
          return { extra: [], dir };
        }
        const url = new URL(schemas.url);
        url.pathname = `/${restoredDb}`;
        execFileSync('psql', ['-q', '-c', `DROP DATABASE IF EXISTS ${restoredDb}`, schemas.url]);
        execFileSync('psql', ['-q', '-c', `CREATE DATABASE ${restoredDb}`, schemas.url]);
        execFileSync('pg_restore', [
          '--no-owner',
          '-d',
          url.toString(),
          join(backup, 'bulwark.dump'),
        ]);
        return { extra: dbArgs(url.toString()), dir };
      }

      it('a restore without the master key refuses to start, and says what is missing', () => {
        const { extra, dir } = restore(randomBytes(32).toString('hex'));
        try {
          const r = (() => {
            try {
              execFileSync(
                process.execPath,
                [BIN, 'hub', '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0', ...extra],
                { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
              );
              return { code: 0, err: '' };
            } catch (e) {
              const x = e as { status: number | null; stderr: Buffer };
              return { code: x.status, err: x.stderr.toString() };
            }
          })();
          assert.notEqual(r.code, 0, 'the hub must not start with another master key');
          assert.match(r.err, /master key/i);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('the restored hub holds the backed-up state: device identity, telemetry, image, audit', async () => {
        const { extra, dir } = restore();
        restored = hubChild(extra, { dir, apiKey: hub.apiKey });
        const rt = await restored.start();
        const api = restored.api(rt);

        assert.deepEqual(await storedPayloads(restored, rt, channelId), [...before5].sort());
        const a = await api.firmware.get(artifactId);
        assert.equal(a.state, 'ready');
        const res = await api.firmware.download(artifactId);
        const body = await new Response(res.body as ReadableStream).arrayBuffer();
        assert.equal(sha(new Uint8Array(body)), sha(image));

        // The device's certificate from before the backup is still accepted, and it publishes.
        await publish(rt, dev, channelId, ['after-restore']);
        assert.ok((await storedPayloads(restored, rt, channelId)).includes('after-restore'));
        await restored.stop();

        const verify = execFileSync(
          process.execPath,
          [BIN, 'audit', 'verify', '--data-dir', restored.dir, ...extra, '--json'],
          { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
        ).toString();
        assert.equal((JSON.parse(verify) as { ok: boolean }).ok, true, verify);
      });
    },
  );
}
