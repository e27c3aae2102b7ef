/**
 * Builds SWUpdate images (`.swu`) for the interop test: a CPIO archive (`newc` with CRC, as
 * SWUpdate requires) of `sw-description`, its CMS signature `sw-description.sig` and one payload
 * file, installed by the `files` section (rawfile handler) to a path in a temp dir. The signing key
 * and self-signed certificate are generated per run with openssl; nothing is committed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The hardware SWUpdate must be told it runs on (`-H`) for the image to be compatible. */
export const SWU_HARDWARE = { board: 'bulwark-test', revision: '1.0' };

/** A throwaway code-signing key and self-signed certificate (PEM files in `dir`). */
export async function makeSigner(
  dir: string,
  name = 'signer',
): Promise<{ key: string; cert: string }> {
  const key = join(dir, `${name}.key.pem`);
  const cert = join(dir, `${name}.cert.pem`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    `/CN=bulwark ${name}`,
    '-addext',
    'keyUsage=digitalSignature',
    '-addext',
    'extendedKeyUsage=codeSigning',
  ]);
  return { key, cert };
}

/**
 * Writes `<dir>/<name>` (a .swu) that installs `payload` to `target`, with `sw-description` signed
 * by `signer` (CMS, DER, as SWUpdate's CMS verification reads it). Returns the image bytes.
 */
export async function buildSwu(opts: {
  dir: string;
  name: string;
  version: string;
  payload: Uint8Array;
  target: string;
  signer: { key: string; cert: string };
}): Promise<Buffer> {
  const { dir } = opts;
  const sha256 = createHash('sha256').update(opts.payload).digest('hex');
  const description = `software =
{
\tversion = "${opts.version}";
\tdescription = "Bulwark DDI interop test";
\thardware-compatibility: [ "${SWU_HARDWARE.revision}" ];
\tfiles: (
\t\t{
\t\t\tfilename = "payload.bin";
\t\t\tpath = "${opts.target}";
\t\t\tsha256 = "${sha256}";
\t\t}
\t);
};
`;
  await writeFile(join(dir, 'sw-description'), description);
  await writeFile(join(dir, 'payload.bin'), opts.payload);
  await run('openssl', [
    'cms',
    '-sign',
    '-in',
    join(dir, 'sw-description'),
    '-out',
    join(dir, 'sw-description.sig'),
    '-signer',
    opts.signer.cert,
    '-inkey',
    opts.signer.key,
    '-outform',
    'DER',
    '-nosmimecap',
    '-binary',
  ]);
  // sw-description must come first and its signature second (SWUpdate reads them in order).
  const out = join(dir, opts.name);
  await run(
    'sh',
    [
      '-c',
      `printf 'sw-description\\nsw-description.sig\\npayload.bin\\n' | cpio --quiet -o -H crc > '${out}'`,
    ],
    { cwd: dir },
  );
  return readFile(out);
}
