import { BulwarkError } from '@bulwark/protocol';
import { requirePlane } from '@bulwark/core';
import type { Handlers, HttpServices } from '../context.js';
import { principalOf } from '../context.js';
import { certificateView, deviceKeyView, enrollmentView, iso } from '../views.js';

type PkiHandlers = Pick<
  Handlers,
  | 'createEnrollmentToken'
  | 'listCertificates'
  | 'revokeCertificate'
  | 'revokeAllCertificates'
  | 'listDeviceKeys'
  | 'createDeviceKey'
  | 'revokeDeviceKey'
  | 'setDevicePsk'
  | 'removeDevicePsk'
  | 'setDeviceRpk'
  | 'removeDeviceRpk'
  | 'rebootstrapLwm2m'
  | 'enroll'
  | 'renewCertificate'
  | 'getCaBundle'
  | 'getCrl'
>;

/** Enrollment, certificates, revocation, CRLs and device keys. */
export function pkiHandlers(s: HttpServices): PkiHandlers {
  return {
    createEnrollmentToken: async ({ params, body }, ctx) => {
      const p = principalOf(ctx);
      const t = await s.pki.createEnrollmentToken(
        p.orgId,
        params.id,
        p.kind === 'user' ? p.id : null,
        body.ttlSeconds,
      );
      return { token: t.token, deviceId: t.deviceId, expiresAt: iso(t.expiresAt) };
    },
    listCertificates: async ({ params }, ctx) =>
      (await s.pki.listCertificates(principalOf(ctx).orgId, params.id)).map(certificateView),
    revokeCertificate: async ({ params, body }, ctx) => {
      ctx.audit.detail = { serial: params.serial, reason: body.reason ?? 'unspecified' };
      return certificateView(
        await s.pki.revoke(principalOf(ctx).orgId, params.id, params.serial, body.reason),
      );
    },
    revokeAllCertificates: async ({ params, body }, ctx) => {
      const revoked = await s.pki.revokeAll(principalOf(ctx).orgId, params.id, body.reason);
      ctx.audit.detail = {
        reason: body.reason ?? 'unspecified',
        serials: revoked.map((c) => c.serial),
      };
      return revoked.map(certificateView);
    },
    listDeviceKeys: async ({ params }, ctx) =>
      (await s.pki.listDeviceKeys(principalOf(ctx).orgId, params.id)).map(deviceKeyView),
    createDeviceKey: async ({ params }, ctx) => {
      const r = await s.pki.createDeviceKey(principalOf(ctx).orgId, params.id);
      ctx.audit.detail = { keyId: r.deviceKey.id };
      return { deviceKey: deviceKeyView(r.deviceKey), key: r.key };
    },
    revokeDeviceKey: async ({ params }, ctx) => {
      ctx.audit.detail = { keyId: params.keyId };
      await s.pki.revokeDeviceKey(principalOf(ctx).orgId, params.id, params.keyId);
    },
    setDevicePsk: async ({ params, body }, ctx) => {
      const store = body.bootstrap === true ? s.bootstrapPsks : s.devicePsks;
      const r = await store.set(principalOf(ctx).orgId, params.id, {
        identity: body.identity,
        ...(body.key === undefined ? {} : { key: Buffer.from(body.key, 'hex') }),
      });
      ctx.audit.detail = { identity: r.identity, bootstrap: body.bootstrap === true }; // never the key
      return { identity: r.identity, key: r.key.toString('hex') };
    },
    removeDevicePsk: async ({ params }, ctx) => {
      if (!(await s.devicePsks.remove(principalOf(ctx).orgId, params.id))) {
        throw new BulwarkError('not_found', 'this device has no pre-shared key');
      }
      ctx.audit.detail = {};
    },
    setDeviceRpk: async ({ params, body }, ctx) => {
      const pin = await s.deviceRpks.set(principalOf(ctx).orgId, params.id, body.publicKey);
      ctx.audit.detail = { fingerprint: pin.fingerprint };
      return { fingerprint: pin.fingerprint, createdAt: iso(pin.createdAt) };
    },
    removeDeviceRpk: async ({ params }, ctx) => {
      if (!(await s.deviceRpks.remove(principalOf(ctx).orgId, params.id))) {
        throw new BulwarkError('not_found', 'this device has no pinned raw public key');
      }
      ctx.audit.detail = {};
    },
    rebootstrapLwm2m: async ({ params }, ctx) => {
      const orgId = principalOf(ctx).orgId;
      const device = await s.devices.get(orgId, params.id); // another org's device: 404
      if (!device.tags.includes('lwm2m')) throw new BulwarkError('lwm2m_device_required');
      const identity = await s.devicePsks.identityOf(orgId, params.id);
      if (identity === undefined) throw new BulwarkError('lwm2m_psk_required');
      await s.bootstrapPsks.requestRotation(orgId, params.id);
      ctx.audit.detail = { identity }; // never a key
    },
    enroll: async ({ body }, ctx) => {
      const e = await s.pki.enroll(body.token, body.csr);
      // The enrollment token proved the caller is this device.
      Object.assign(ctx.audit, {
        orgId: e.device.orgId,
        actorType: 'device',
        actorId: e.device.id,
        targetId: e.device.id,
        detail: { serial: e.cert.serial },
      });
      return enrollmentView(e);
    },
    renewCertificate: async ({ body }, ctx) => {
      if (!ctx.device?.cert) throw new BulwarkError('certificate_required');
      // A quarantined device's credential is not extended (policy.ts).
      requirePlane(ctx.device.principal, 'renewal');
      const e = await s.pki.renew(ctx.device.device, ctx.device.cert, body.csr);
      ctx.audit.detail = { serial: e.cert.serial, previous: ctx.device.cert.serial };
      return enrollmentView(e);
    },
    getCaBundle: async (_i, ctx) => {
      const orgId = principalOf(ctx).orgId;
      return { ...(await s.pki.caBundle(orgId)), crlUrl: `/api/v1/orgs/${orgId}/crl` };
    },
    getCrl: async ({ params }) => s.pki.crl(params.id),
  };
}
