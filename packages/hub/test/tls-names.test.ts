/**
 * The server certificate the hub makes names the host's addresses and names (issue 13), the
 * bundle it hands out verifies whatever serves, and a reload of the hub-made certificate swaps it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { loadServerTls } from '@bulwark/hub';
import { externalCa, type ExternalCa } from './external-ca.js';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const pems = (text: string) =>
  (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new X509Certificate(p),
  );

/** The certificate the server at `port` presents. */
function peer(port: number, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const c = s.getPeerX509Certificate();
      s.end();
      if (c) resolve(c);
      else reject(new Error('no peer certificate'));
    });
    s.on('error', reject);
  });
}

describe('server certificate names and trust', () => {
  let t: TestHub;
  let ca: ExternalCa;
  before(async () => {
    t = await startTestHub(['--public-names', 'hub.example.com']);
    ca = externalCa();
  });
  after(async () => {
    await t.close();
    ca.remove();
  });

  it("a hub bound to every interface names each of the host's addresses, its host name and --public-names", async () => {
    const tls = await loadServerTls(
      {
        tlsCert: '',
        tlsKey: '',
        tlsCa: '',
        httpHost: '0.0.0.0',
        publicNames: ['hub.example.com', '203.0.113.7'],
      },
      t.hub.services.pki,
    );
    const leaf = pems(tls.cert)[0]!;
    const addresses = Object.values(networkInterfaces())
      .flat()
      .map((a) => a!.address)
      .filter((a) => !/^fe80:/i.test(a));
    assert.ok(addresses.length >= 1);
    for (const ip of [...addresses, '203.0.113.7'])
      assert.equal(leaf.checkIP(ip), ip, `${ip} in ${leaf.subjectAltName}`);
    for (const name of [hostname(), 'localhost', 'hub.example.com'])
      assert.equal(leaf.checkHost(name), name, `${name} in ${leaf.subjectAltName}`);
    assert.equal(tls.issuers, '', "the hub's own CA signs it: no outside issuers");
  });

  it("with the hub's own CA, devices and the CLI get exactly that CA, which verifies what is served", async () => {
    const caPem = readFileSync(t.hub.info.caFile, 'utf8');
    const own = await t.hub.services.pki.hubCaPem();
    assert.equal(caPem.trim(), own.trim());
    const s = await setupOwner(t);
    assert.equal((await t.client(s.apiKey).pki.caBundle()).hub.trim(), own.trim());
    const served = await peer(t.hub.info.mqttPort, caPem);
    assert.equal(served.checkHost('hub.example.com'), 'hub.example.com');
  });

  it('a reload makes a fresh hub certificate (new addresses, new names)', async () => {
    const before = await peer(t.hub.info.httpPort, t.ca);
    const r = await t.hub.reloadTls();
    assert.equal(r.ok, true);
    const after = await peer(t.hub.info.httpPort, t.ca);
    assert.notEqual(after.serialNumber, before.serialNumber);
  });

  it('after a reload, TLS sessions from before it still resume (the shared ticket key stays)', async () => {
    const port = t.hub.info.mqttPort;
    const session = await new Promise<Buffer>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca: t.ca, servername: 'localhost' });
      s.once('session', (b: Buffer) => {
        resolve(b);
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal((await t.hub.reloadTls()).ok, true);
    const reused = await new Promise<boolean>((resolve, reject) => {
      const s = connect(
        { host: '127.0.0.1', port, ca: t.ca, servername: 'localhost', session },
        () => {
          const r = s.isSessionReused();
          s.end();
          resolve(r);
        },
      );
      s.on('error', reject);
    });
    assert.equal(reused, true);
  });

  it('--tls-ca may carry the intermediate: the hub serves it after the certificate and hands out both', async () => {
    const one = ca.issue('hub-leaf-only');
    const bundle = join(ca.dir, 'bundle.pem');
    writeFileSync(bundle, readFileSync(ca.intermediate, 'utf8') + readFileSync(ca.root, 'utf8'));
    const tls = await loadServerTls(
      {
        tlsCert: one.leaf,
        tlsKey: one.key,
        tlsCa: bundle,
        httpHost: '127.0.0.1',
        publicNames: ['other.example'],
      },
      t.hub.services.pki,
    );
    assert.deepEqual(
      pems(tls.cert).map((c) => c.subject.replace(/\n/g, ', ')),
      ['CN=hub-leaf-only', 'O=Outside CA, CN=Outside Intermediate'],
    );
    assert.deepEqual(
      pems(tls.issuers).map((c) => c.subject.replace(/\n/g, ', ')),
      ['O=Outside CA, CN=Outside Intermediate', 'O=Outside CA, CN=Outside Root'],
    );
    assert.deepEqual(
      tls.unnamed,
      ['other.example'],
      'a --public-names entry the certificate lacks is reported',
    );
    await assert.rejects(
      loadServerTls(
        {
          tlsCert: one.leaf,
          tlsKey: one.key,
          tlsCa: ca.intermediate,
          httpHost: '127.0.0.1',
          publicNames: [],
        },
        t.hub.services.pki,
      ),
      /no certificate of "O=Outside CA, CN=Outside Root", which issued "O=Outside CA, CN=Outside Intermediate", in --tls-ca/,
    );
  });
});
