/** CoAP at the hub: libcoap's coap-client publishes into storage and observes messages from other protocols. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const CLIENT = 'coap-client-notls';
const present = (() => {
  try {
    execFileSync('sh', ['-c', `command -v ${CLIENT}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!present && process.env['CI'] === 'true') {
  it(`${CLIENT} is installed (required when CI=true)`, () =>
    assert.fail('apt-get install libcoap3-bin'));
}
const skip = present ? false : `${CLIENT} not installed (apt-get install libcoap3-bin)`;

describe('CoAP at the hub (libcoap client)', { skip }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let dev: { id: string; key: string };
  const url = (path: string, key = dev.key) =>
    `coap://127.0.0.1:${t.hub.info.coapPort}${path}?auth=${dev.id}:${key}`;

  before(async () => {
    t = await startTestHub(['--coap-port', '0']);
    s = await setupOwner(t);
    channelId = (await s.api.channels.create({ name: 'coap' })).id;
    const d = await s.api.devices.create({ name: 'coap-node', type: 'nrf52' });
    const { key } = await s.api.devices.createKey(d.id);
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
    dev = { id: d.id, key };
  });
  after(() => t.close());

  it('runtime.json names the CoAP port only when asked for', () => {
    assert.ok((t.hub.info.coapPort ?? 0) > 0);
  });

  it('a POST with SenML (Content-Format 110) is stored before 2.04; a wrong key gets 4.01 and stores nothing', async () => {
    const run = promisify(execFile);
    const ok = await run(CLIENT, [
      '-m',
      'post',
      '-t',
      '110',
      '-e',
      '[{"n":"urn:coap:t","v":7}]',
      url(`/channels/${channelId}/messages/lab`),
    ]);
    assert.doesNotMatch(ok.stdout + ok.stderr, /4\.\d\d|5\.\d\d/);
    const page = await s.api.channels.messages(channelId, { name: 'urn:coap:t' });
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0]!.protocol, 'coap');
    assert.equal(page.items[0]!.subtopic, 'lab');
    const bad = await run(CLIENT, [
      '-m',
      'post',
      '-t',
      '0',
      '-e',
      'x',
      url(`/channels/${channelId}/messages`, 'bwd_wrong'),
    ]);
    assert.match(bad.stdout + bad.stderr, /4\.01/);
    assert.equal((await s.api.channels.messages(channelId, {})).items.length, 1);
  });

  it('an observer receives a message published over HTTP', async () => {
    const obs = spawn(CLIENT, ['-s', '8', '-B', '8', url(`/channels/${channelId}/messages`)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    obs.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<void>((r) => obs.once('close', () => r()));
    try {
      // Publish until the observation is registered (bounded).
      const auth = `Basic ${Buffer.from(`${dev.id}:${dev.key}`).toString('base64')}`;
      for (let i = 0; i < 30 && !out.includes('hello observers'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        await t.fetchWith()(`${t.url}/api/v1/channels/${channelId}/messages`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'text/plain' },
          body: 'hello observers',
        });
      }
      assert.match(out, /hello observers/);
    } finally {
      obs.kill();
      await closed;
    }
  });
});
