/**
 * The hub's cluster settings (decision 0021): NATS flags are read into one set of connection
 * options and deployment names, and a contradictory or silently-ignored setting stops the hub
 * with a message naming the flag. No sockets.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, ConfigError } from '../src/config.js';
import { natsSettings, openBlobs } from '../src/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cluster-cfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const config = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  loadConfig(['--data-dir', dir, ...argv], env);
const refuses = (argv: string[], why: RegExp, env: NodeJS.ProcessEnv = {}) =>
  assert.throws(
    () => natsSettings(config(argv, env)),
    (err: Error) => err instanceof ConfigError && why.test(err.message),
  );

describe('cluster settings', () => {
  it('one node (--bus memory) has no NATS settings and keeps images in the data dir', async () => {
    assert.equal(natsSettings(config([])), undefined);
    const blobs = await openBlobs(config([]), undefined, 'n1');
    assert.equal(blobs.describe, `fs ${join(dir, 'blobs')}`);
  });

  it('reads the prefix, replicas, TLS files and credentials, flags or BULWARK_* env', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'not parsed here');
    const s = natsSettings(
      config(
        ['--bus', 'nats://n1:4222,nats://n2:4222', '--nats-prefix', 'acme', '--nats-tls-ca', ca],
        {
          BULWARK_NATS_REPLICAS: '3',
          BULWARK_NATS_USER: 'hub',
          BULWARK_NATS_PASSWORD: 'secret',
        },
      ),
    );
    assert.ok(s);
    assert.equal(s.replicas, 3);
    assert.equal(s.names.messagesStream, 'ACME_MESSAGES');
    assert.equal(s.names.blobsBucket, 'ACME_BLOBS');
    assert.deepEqual(s.connect, {
      servers: 'nats://n1:4222,nats://n2:4222',
      tls: { caFile: ca },
      user: 'hub',
      password: 'secret',
    });
  });

  it('refuses what would be ignored or contradicts itself, naming the flag', async () => {
    refuses(['--nats-prefix', 'acme'], /--nats-prefix need a NATS bus/);
    refuses(['--nats-token', 't', '--nats-replicas', '3'], /--nats-replicas, --nats-token need/);
    refuses(['--bus', 'redis://x'], /--bus "redis:\/\/x": use memory or nats:\/\//);
    refuses(['--bus', 'nats://x:1', '--nats-prefix', 'Acme.Prod'], /--nats-prefix: .*lower-case/);
    refuses(
      ['--bus', 'nats://x:1', '--nats-user', 'u', '--nats-token', 't'],
      /one kind of credential/,
    );
    refuses(
      ['--bus', 'nats://x:1', '--nats-tls-cert', join(dir, 'nope.pem')],
      /--nats-tls-cert .*cannot read/,
    );
    assert.throws(() => config(['--nats-replicas', '7']), /between 1 and 5/);
    await assert.rejects(
      openBlobs(config(['--blobs', 'nats']), undefined, 'n1'),
      /--blobs nats needs a NATS bus/,
    );
    await assert.rejects(
      openBlobs(config(['--blobs', 's3']), undefined, 'n1'),
      /use auto, fs or nats/,
    );
  });
});
