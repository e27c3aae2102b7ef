/**
 * Pinned DTLS raw public keys (RFC 7250; decision 0041, 2026-12-07) through the one admission
 * rule: a pin names one device hub-wide, a replaced or removed pin no longer admits (the check
 * every CoAP request makes on an open association) and cuts the sessions made with the key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  Admission,
  AdmissionError,
  DeviceRpkService,
  accessActionFor,
  type Device,
  type DevicePrincipal,
  type DomainEvent,
} from '@bulwark/core';

const clock = { now: () => 1_700_000_000_000 };
const device = (id: string, orgId: string, state = 'active'): Device =>
  ({ id, orgId, state, tags: [] }) as unknown as Device;

function setup() {
  const devices = new Map<string, Device>([
    ['d1', device('d1', 'org-a')],
    ['d2', device('d2', 'org-a')],
    ['d3', device('d3', 'org-b')],
  ]);
  const rows = new Map<string, string>();
  const storage = {
    devices: {
      get: (orgId: string, id: string) =>
        Promise.resolve(devices.get(id)?.orgId === orgId ? devices.get(id) : undefined),
    },
    system: {
      get: (k: string) => Promise.resolve(rows.get(k)),
      put: (k: string, v: string) => Promise.resolve(void rows.set(k, v)),
      compareAndSet: (k: string, expected: string | undefined, next: string | undefined) => {
        if (rows.get(k) !== expected) return Promise.resolve(false);
        if (next === undefined) rows.delete(k);
        else rows.set(k, next);
        return Promise.resolve(true);
      },
    },
    deviceKeys: {},
    apiKeys: {},
  };
  const events: DomainEvent[] = [];
  const rpks = new DeviceRpkService({
    storage: storage as never,
    clock,
    events: { emit: (e: DomainEvent) => void events.push(e) },
  });
  const admission = new Admission({
    clock,
    storage: storage as never,
    certificates: { authenticateDevice: () => Promise.reject(new Error('not used')) },
    rpks,
  });
  const admit = (spki: Buffer) =>
    admission.admit({ credential: { kind: 'rpk', spki }, transport: 'coap', source: '10.0.0.1' });
  return { devices, rows, events, rpks, admit };
}

const keyPair = () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
  };
};
const refusal = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'admitted';
  } catch (err) {
    if (err instanceof AdmissionError) return err.reason;
    throw err;
  }
};

describe('DTLS raw public keys: pins and admission', () => {
  it('a pinned key admits its device; an unpinned one is unknown', async () => {
    const { rpks, admit } = setup();
    const k = keyPair();
    assert.equal(await refusal(admit(k.spki)), 'unknown');
    const pin = await rpks.set('org-a', 'd1', k.pem);
    const p = (await admit(k.spki)) as DevicePrincipal;
    assert.equal(p.id, 'd1');
    assert.deepEqual(p.credential, { kind: 'rpk', fingerprint: pin.fingerprint });
  });

  it('a key pinned to one device cannot be pinned to another, of any organization', async () => {
    const { rpks } = setup();
    const k = keyPair();
    await rpks.set('org-a', 'd1', k.pem);
    for (const [org, id] of [
      ['org-a', 'd2'],
      ['org-b', 'd3'],
    ] as const)
      await assert.rejects(rpks.set(org, id, k.pem), /pinned to another device/);
    await assert.rejects(rpks.set('org-b', 'd1', keyPair().pem), /no such device/);
  });

  it('replacing the pin: the old key no longer admits and its sessions are cut', async () => {
    const { rpks, admit, events, rows } = setup();
    const [k1, k2] = [keyPair(), keyPair()];
    const old = await rpks.set('org-a', 'd1', k1.pem);
    await rpks.set('org-a', 'd1', k2.pem);
    assert.equal(await refusal(admit(k1.spki)), 'unknown');
    assert.equal(((await admit(k2.spki)) as DevicePrincipal).id, 'd1');
    assert.equal(rows.size, 2, 'the old pin row is gone');
    const cut = accessActionFor(events.at(-1)!);
    assert.equal(cut?.action, 'cut');
    const principal = (fingerprint: string, id = 'd1'): DevicePrincipal => ({
      type: 'device',
      id,
      orgId: 'org-a',
      state: 'active',
      device: device(id, 'org-a'),
      credential: { kind: 'rpk', fingerprint },
    });
    assert.equal(cut.match(principal(old.fingerprint)), true);
    assert.equal(cut.match(principal(old.fingerprint, 'd2')), false);
    assert.equal(cut.match(principal('other')), false);
  });

  it('removing the pin refuses the key at its next admission (the next CoAP request)', async () => {
    const { rpks, admit, events } = setup();
    const k = keyPair();
    await rpks.set('org-a', 'd1', k.pem);
    await admit(k.spki);
    assert.equal(await rpks.remove('org-a', 'd1'), true);
    assert.equal(await refusal(admit(k.spki)), 'unknown');
    assert.equal(events.at(-1)?.type, 'device_rpk.revoked');
    assert.equal(await rpks.remove('org-a', 'd1'), false);
  });

  it('a decommissioned device: no new pin, and its pinned key is refused', async () => {
    const { rpks, admit, devices } = setup();
    const k = keyPair();
    await rpks.set('org-a', 'd1', k.pem);
    devices.set('d1', device('d1', 'org-a', 'decommissioned'));
    assert.equal(await refusal(admit(k.spki)), 'decommissioned');
    await assert.rejects(rpks.set('org-a', 'd1', keyPair().pem), /decommissioned/);
  });
});
