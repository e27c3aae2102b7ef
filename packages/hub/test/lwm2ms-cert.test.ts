/**
 * LwM2M over DTLS with device certificates and raw public keys (decision 0043, 2026-12-07),
 * against clients we did not write: libcoap's coap-client-openssl (`-c`/`-j`, the certificate its
 * device enrolled for) and coap-client-gnutls (`-M`, a key pinned to its device) send the LwM2M
 * Register themselves. The credential names the device; the endpoint must be that device; a
 * registration answers only to the credential it registered with; a revoked certificate ends the
 * registration and is refused at the next handshake; bootstrap stays PSK only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DomainEvent } from '@bulwark/core';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';
import { at, until } from './lwm2m-helpers.js';
import {
  codes,
  enrollCertificate,
  keyDir,
  libcoapClient,
  rpkKeyPair,
  type EnrolledCert,
} from './dtls-client-fixtures.js';

const OPENSSL = 'coap-client-openssl';
const GNUTLS = 'coap-client-gnutls';
const skip = libcoapClient(OPENSSL).skip || libcoapClient(GNUTLS).skip;
const run = promisify(execFile);
const keys = keyDir('bulwark-lwm2ms-cert-');

interface Reply {
  codes: string[];
  /** The registration id of a 2.01's Location-Path (rd/ID), if any. */
  location: string | undefined;
  out: string;
}

describe('LwM2M over DTLS with certificates and raw public keys (libcoap)', { skip }, () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let ca: string;
  let certDev: EnrolledCert;
  let rpkDev: string;
  let rpk: { keyFile: string; publicPem: string };
  let otherId: string;
  let certLocation: string | undefined;
  const events: DomainEvent[] = [];

  /** One libcoap request on the LwM2M DTLS port with a certificate or a raw key. */
  const send = async (
    cred: { cert: string; key: string } | { rpk: string },
    method: 'post' | 'delete',
    uri: string,
    payload?: string,
  ): Promise<Reply> => {
    const auth =
      'rpk' in cred
        ? { client: GNUTLS, args: ['-M', cred.rpk] }
        : { client: OPENSSL, args: ['-c', cred.cert, '-j', cred.key, '-R', ca] };
    const body = payload === undefined ? [] : ['-t', '40', '-e', payload];
    const r = await run(
      auth.client,
      [
        ...['-v', '6', '-B', '5', '-m', method, ...body, ...auth.args],
        `coaps://127.0.0.1:${t.hub.info.lwm2msPort}${uri}`,
      ],
      { timeout: 20_000 },
    ).catch((err: { stdout?: string; stderr?: string }) => ({
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    }));
    const out = `${r.stdout}\n${r.stderr}`;
    return {
      codes: codes(out),
      location: /Location-Path:rd, Location-Path:(\w+)/.exec(out)?.[1],
      out,
    };
  };
  const register = (cred: Parameters<typeof send>[0], ep: string) =>
    send(cred, 'post', `/rd?ep=${ep}&lt=60&lwm2m=1.1`, '</3/0>');
  const registered = async (id: string) =>
    at((await s.api.twins.get(id)).reported?.state, 'lwm2m', 'registered');
  const online = async (id: string) => (await s.api.devices.presence(id)).online;
  const lwm2mDevice = async (name: string) =>
    (await s.api.devices.create({ name, type: 'lwm2m', tags: ['lwm2m'] })).id;

  before(async () => {
    t = await startTestHub(['--lwm2ms-port', '0', '--lwm2ms-host', '127.0.0.1']);
    s = await setupOwner(t);
    ca = keys.file('hub-ca.pem', t.ca);
    t.hub.services.events.listen((e) => void events.push(e));
    certDev = await enrollCertificate(t, s.api, await lwm2mDevice('cert-node'), keys, 'cert');
    rpkDev = await lwm2mDevice('rpk-node');
    rpk = rpkKeyPair(keys, 'rpk');
    await s.api.devices.setRpk(rpkDev, rpk.publicPem);
    otherId = await lwm2mDevice('other');
  });
  after(async () => {
    await t.close();
    keys.remove();
  });

  it('coap-client-openssl registers with its device certificate: registered, online', async () => {
    const r = await register(certDev, certDev.deviceId);
    assert.deepEqual(r.codes, ['2.01'], r.out);
    certLocation = r.location;
    assert.match(certLocation ?? '', /^\w+$/, r.out);
    await until(
      'the registration in the twin',
      async () => (await registered(certDev.deviceId)) === true,
    );
    assert.equal(await online(certDev.deviceId), true);
    const audit = await s.api.audit.list({ action: 'lwm2m.registered', target: certDev.deviceId });
    assert.equal(audit.items.length, 1);
  });

  it('coap-client-gnutls registers with the pinned raw public key', async () => {
    assert.deepEqual((await register({ rpk: rpk.keyFile }, rpkDev)).codes, ['2.01']);
    await until('the registration in the twin', async () => (await registered(rpkDev)) === true);
    assert.equal(await online(rpkDev), true);
  });

  it("a certificate or key naming another device's endpoint: 4.03, audited, nothing registered", async () => {
    assert.deepEqual((await register(certDev, otherId)).codes, ['4.03']);
    assert.deepEqual((await register({ rpk: rpk.keyFile }, otherId)).codes, ['4.03']);
    const refused = await s.api.audit.list({ action: 'lwm2m.register.refused', target: otherId });
    assert.equal(refused.items.length, 2);
    assert.ok(refused.items.every((x) => x.result === 'failure'));
    assert.equal(await online(otherId), false);
  });

  it("another device's credential cannot update or de-register the registration (4.04)", async () => {
    const path = `/rd/${certLocation!}`;
    assert.deepEqual((await send({ rpk: rpk.keyFile }, 'post', path)).codes, ['4.04']);
    assert.deepEqual((await send({ rpk: rpk.keyFile }, 'delete', path)).codes, ['4.04']);
    // Its own certificate, over a fresh association, updates it (re-admitted).
    assert.deepEqual((await send(certDev, 'post', path)).codes, ['2.04']);
    assert.equal(await registered(certDev.deviceId), true);
  });

  it('bootstrap stays PSK only: a certificate at /bs is refused', async () => {
    const r = await send(certDev, 'post', `/bs?ep=${certDev.deviceId}`);
    assert.deepEqual(r.codes, ['4.03'], r.out);
  });

  it('revoking the certificate ends the registration and refuses the next handshake', async () => {
    const before = events.length;
    await s.api.devices.revokeCertificate(certDev.deviceId, certDev.serial, 'keyCompromise');
    await until('the cut', async () => (await registered(certDev.deviceId)) === false);
    assert.equal(await online(certDev.deviceId), false);
    const cut = await s.api.audit.list({ action: 'lwm2m.deregistered', target: certDev.deviceId });
    assert.equal(at(cut.items[0]?.detail, 'reason'), 'cut');
    assert.deepEqual((await register(certDev, certDev.deviceId)).codes, []);
    const failed = events
      .slice(before)
      .filter((e) => e.type === 'auth.failed' && e.credential === 'certificate');
    assert.deepEqual(
      failed.map((e) => (e.type === 'auth.failed' ? e.reason : '')),
      ['revoked'],
    );
    assert.equal(await registered(certDev.deviceId), false);
  });

  it('removing the pin ends the raw-key registration; the key is refused afterwards', async () => {
    await s.api.devices.removeRpk(rpkDev);
    await until('the cut', async () => (await registered(rpkDev)) === false);
    assert.deepEqual((await register({ rpk: rpk.keyFile }, rpkDev)).codes, []);
    assert.equal(await online(rpkDev), false);
  });
});
