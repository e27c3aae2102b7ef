/** Real third-party clients against the hub: mosquitto_pub / mosquitto_sub over mutual TLS. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateDeviceKeyAndCsr } from '@bulwark/sdk';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const has = (bin: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const missing = ['mosquitto_pub', 'mosquitto_sub'].filter((b) => !has(b));
if (missing.length > 0 && process.env['CI'] === 'true') {
  it('mosquitto-clients are installed (required when CI=true)', () =>
    assert.fail(`missing ${missing.join(', ')}: apt-get install mosquitto-clients`));
}
const skip =
  missing.length > 0
    ? `${missing.join(', ')} not installed (apt-get install mosquitto-clients)`
    : false;

describe('mosquitto clients over mutual TLS', { skip }, () => {
  let t: TestHub;
  let dir: string;
  let channelId: string;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  const files: Record<string, { id: string; cert: string; key: string }> = {};

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    dir = mkdtempSync(join(tmpdir(), 'bulwark-mosq-'));
    writeFileSync(join(dir, 'hub-ca.pem'), t.ca);
    channelId = (await s.api.channels.create({ name: 'interop' })).id;
    for (const [name, rights] of [
      ['pub', { publish: true, subscribe: false }],
      ['sub', { publish: false, subscribe: true }],
    ] as const) {
      const d = await s.api.devices.create({ name: `mosq-${name}`, type: 'linux' });
      await s.api.channels.connect(channelId, { clientType: 'device', clientId: d.id, ...rights });
      const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
      const k = await generateDeviceKeyAndCsr();
      const issued = await t.client().enroll({ token, csr: k.csrPem });
      writeFileSync(join(dir, `${name}.crt`), issued.certificate);
      writeFileSync(join(dir, `${name}.key`), k.keyPem, { mode: 0o600 });
      files[name] = { id: d.id, cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    }
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tls = (who: { id: string; cert: string; key: string }, version = 'mqttv5') => [
    '-h',
    '127.0.0.1',
    '-p',
    String(t.hub.info.mqttPort),
    '--cafile',
    join(dir, 'hub-ca.pem'),
    '--cert',
    who.cert,
    '--key',
    who.key,
    '-i',
    who.id,
    '-V',
    version,
  ];

  it('mosquitto_sub receives what mosquitto_pub publishes, both authenticated by their device certificates', async () => {
    const sub = spawn(
      'mosquitto_sub',
      [
        ...tls(files['sub']!),
        '-t',
        `channels/${channelId}/messages/#`,
        '-q',
        '1',
        '-C',
        '1',
        '-W',
        '15',
        '-v',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    sub.stdout.on('data', (b: Buffer) => (out += b.toString()));
    sub.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const done = new Promise<number | null>((resolve) => sub.once('close', resolve));
    // Publish until the subscriber has surely subscribed (bounded: at most 20 tries).
    for (let i = 0; i < 20 && sub.exitCode === null && out === ''; i++) {
      await promisify(execFile)('mosquitto_pub', [
        ...tls(files['pub']!),
        '-t',
        `channels/${channelId}/messages/lab`,
        '-q',
        '1',
        '-m',
        'hello from mosquitto',
      ]);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(await done, 0, err);
    assert.equal(out.trim(), `channels/${channelId}/messages/lab hello from mosquitto`);
  });

  it('mosquitto_pub without a client certificate or key is refused', async () => {
    const r = await promisify(execFile)('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(t.hub.info.mqttPort),
      '--cafile',
      join(dir, 'hub-ca.pem'),
      '-i',
      'anon',
      '-t',
      `channels/${channelId}/messages`,
      '-m',
      'x',
      '-V',
      'mqttv5',
    ]).then(
      () => 'accepted',
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(r, /not authori[sz]ed|Bad User Name or Password|Connection Refused/i);
  });

  it("an MQTT 3.1.1 client's SenML is parsed on a channel that declares its payload format", async () => {
    const senml = await s.api.channels.create({
      name: 'legacy-senml',
      contentType: 'application/senml+json',
    });
    assert.equal(senml.contentType, 'application/senml+json');
    await s.api.channels.connect(senml.id, {
      clientType: 'device',
      clientId: files['pub']!.id,
      publish: true,
      subscribe: false,
    });
    const pub = (channel: string, body: string) =>
      promisify(execFile)('mosquitto_pub', [
        ...tls(files['pub']!, 'mqttv311'),
        '-t',
        `channels/${channel}/messages/room1`,
        '-q',
        '1',
        '-m',
        body,
      ]);
    await pub(senml.id, '[{"n":"urn:dev:legacy:temp","u":"Cel","v":19.5}]');
    // The same bytes on a channel without a format stay opaque.
    await pub(channelId, '[{"n":"urn:dev:legacy:temp","u":"Cel","v":19.5}]');
    const [parsed] = (await s.api.channels.messages(senml.id, {})).items;
    assert.equal(parsed?.contentType, 'application/senml+json');
    assert.equal(parsed?.senml?.[0]?.v, 19.5);
    const opaque = (await s.api.channels.messages(channelId, {})).items.find((m) =>
      m.subtopic.endsWith('room1'),
    );
    assert.equal(opaque?.contentType, 'application/octet-stream');
    assert.equal(opaque?.senml, undefined);
  });
});
