import { resolve } from 'node:path';
import type { IssuedCertificateView } from '@bulwark/protocol';
import { generateDeviceKeyAndCsr, type BulwarkClient } from '@bulwark/sdk';
import type { Command, Context } from '../command.js';
import { assertNoDeviceKey, writeDeviceFiles } from '../device-files.js';
import { formatFields } from '../output.js';

const OUT = { type: 'string', value: 'DIR', help: 'where to write the device files' } as const;

/** Generates the key locally, enrolls its CSR with the token and writes the device files. */
async function enrollInto(
  ctx: Context,
  client: BulwarkClient,
  token: string,
  dir: string,
  commonName?: string,
): Promise<{ issued: IssuedCertificateView; files: string[] }> {
  const { keyPem, csrPem } = await generateDeviceKeyAndCsr(
    commonName === undefined ? {} : { commonName },
  );
  const issued = await client.enroll({ token, csr: csrPem });
  const files = writeDeviceFiles(dir, { keyPem, issued, hubUrl: ctx.connection().url });
  return { issued, files };
}

const report = (ctx: Context, result: { issued: IssuedCertificateView; files: string[] }) =>
  ctx.print({ ...result.issued, files: result.files }, () =>
    formatFields([
      ['device', result.issued.deviceId],
      ['serial', result.issued.serial],
      ['expires', result.issued.notAfter],
      ['wrote', result.files.join(', ')],
    ]),
  );

/** `bulwark device create` (operator side, all in one) and `bulwark device enroll` (device side). */
export const deviceEnrollCommands: Command[] = [
  {
    path: ['device', 'create'],
    args: ['NAME'],
    summary:
      'Register a device, generate its key locally, enroll it and write key.pem, cert.pem, ca.pem and device.json.',
    options: {
      type: { type: 'string', value: 'T', help: 'the device type (required)' },
      tag: { type: 'string', multiple: true, value: 'X', help: 'a tag (repeatable)' },
      mode: {
        type: 'string',
        value: 'M',
        help: 'controlled (the default: the hub manages it) or autonomous',
      },
      location: { type: 'string', value: 'ID', help: 'the location the device is in' },
      out: { ...OUT, help: 'where to write the device files (default ./NAME)' },
    },
    run: async (ctx) => {
      const name = ctx.args[0] ?? '';
      const type = ctx.need('type');
      const mode = ctx.choice('mode', ['autonomous', 'controlled'] as const);
      const location = ctx.str('location');
      const tags = ctx.strs('tag');
      const dir = resolve(ctx.io.cwd, ctx.str('out') ?? name);
      // Fail before registering anything if the key is already there.
      assertNoDeviceKey(dir);
      const client = ctx.client();
      const device = await client.devices.create({
        name,
        type,
        ...(tags.length > 0 ? { tags } : {}),
        ...(mode === undefined ? {} : { mode }),
        ...(location === undefined ? {} : { locationId: location }),
      });
      try {
        const { token } = await client.devices.createEnrollmentToken(device.id);
        report(ctx, await enrollInto(ctx, client, token, dir, name));
      } catch (err) {
        ctx.io.err(
          `device ${device.id} was registered but not enrolled; retry with ` +
            `\`bulwark device token ${device.id}\` and \`bulwark device enroll --token T\`\n`,
        );
        throw err;
      }
    },
  },
  {
    path: ['device', 'enroll'],
    summary:
      'Enroll this device with a one-time token: generate a key, get it certified and write the device files.',
    options: {
      token: { type: 'string', value: 'TOKEN', help: 'the enrollment token (required)' },
      out: { ...OUT, help: 'where to write the device files (default .)' },
    },
    run: async (ctx) => {
      const token = ctx.need('token');
      const dir = resolve(ctx.io.cwd, ctx.str('out') ?? '.');
      assertNoDeviceKey(dir);
      // Enrollment is authorized by the token alone: no API key is sent.
      report(ctx, await enrollInto(ctx, ctx.client(false), token, dir));
    },
  },
];
