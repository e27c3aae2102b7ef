/**
 * Access changes reach CoAP observations (issue 11): revoking the device key behind an
 * observation, or removing the device's subscribe right, ends it with a final error notification
 * (RFC 7641 §3.2) — libcoap's coap-client sees the code and no message published afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

describe('access changes end CoAP observations (libcoap client)', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let channelId: string;
  let writer: { id: string; key: string };

  const basic = (d: { id: string; key: string }) =>
    `Basic ${Buffer.from(`${d.id}:${d.key}`).toString('base64')}`;
  const post = (body: string) =>
    t.fetchWith()(`${t.url}/api/v1/channels/${channelId}/messages`, {
      method: 'POST',
      headers: { authorization: basic(writer), 'content-type': 'text/plain' },
      body,
    });
  async function device(name: string) {
    const d = await s.api.devices.create({ name, type: 'nrf52' });
    const { key, deviceKey } = await s.api.devices.createKey(d.id);
    await s.api.channels.connect(channelId, {
      clientType: 'device',
      clientId: d.id,
      publish: true,
      subscribe: true,
    });
    return { id: d.id, key, keyId: deviceKey.id };
  }

  /** Observes the channel with coap-client until `change` ran; returns what the client printed. */
  async function observeThrough(
    d: { id: string; key: string },
    change: () => Promise<unknown>,
  ): Promise<string> {
    const url = `coap://127.0.0.1:${t.hub.info.coapPort}/channels/${channelId}/messages?auth=${d.id}:${d.key}`;
    const obs = spawn('coap-client-notls', ['-s', '10', '-B', '10', url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    obs.stdout.on('data', (b: Buffer) => (out += b.toString()));
    obs.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<void>((r) => obs.once('close', () => r()));
    try {
      // Publish until the observation is registered (bounded).
      for (let i = 0; i < 30 && !out.includes('before'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        await post('before');
      }
      assert.match(out, /before/, 'the observation works before the change');
      await change();
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 3; i++) await post('after the change');
      await new Promise((r) => setTimeout(r, 500));
      return out;
    } finally {
      obs.kill();
      await closed;
    }
  }

  before(async () => {
    t = await startTestHub(['--coap-port', '0']);
    s = await setupOwner(t);
    channelId = (await s.api.channels.create({ name: 'coap-access' })).id;
    writer = await device('writer');
  });
  after(() => t.close());

  it('revoking the device key behind an observation ends it (4.01); nothing flows after', async () => {
    const d = await device('observer-key');
    const out = await observeThrough(d, () => s.api.devices.revokeKey(d.id, d.keyId));
    assert.match(out, /4\.01/);
    assert.doesNotMatch(out, /after the change/);
  });

  it('removing the subscribe right ends the observation (4.03); nothing flows after', async () => {
    const d = await device('observer-right');
    const out = await observeThrough(d, () =>
      s.api.channels.connect(channelId, {
        clientType: 'device',
        clientId: d.id,
        publish: true,
        subscribe: false,
      }),
    );
    assert.match(out, /4\.03/);
    assert.doesNotMatch(out, /after the change/);
  });
});
