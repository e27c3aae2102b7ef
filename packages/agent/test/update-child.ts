/**
 * Child process of update-sigkill.test.ts: an agent-like driver of one install on a slot directory.
 * Usage: node update-child.js DIR RELEASE_JSON. Prints one line per persisted step; exits with
 * `reboot-required` when the install needs the (simulated) reboot the parent performs.
 */
import { readFileSync } from 'node:fs';
import { createPublicKey, verify } from 'node:crypto';
import type { Release } from '../src/update/index.js';
import { makeImage, openInstaller, signedBytes } from './update-fixtures.js';

const [dir, relFile] = process.argv.slice(2) as [string, string];
const spec = JSON.parse(readFileSync(relFile, 'utf8')) as {
  release: Release;
  signature: string;
  publicKey: string;
  imageLength: number;
  seed: number;
  chunk: number;
};
const image = makeImage(spec.imageLength, spec.seed);
const key = createPublicKey(spec.publicKey);
const inst = await openInstaller(dir, ({ release }) =>
  verify(null, signedBytes(release), key, Buffer.from(spec.signature, 'base64'))
    ? Promise.resolve()
    : Promise.reject(new Error('bad signature')),
);
const say = (s: { state: string; offset: number }) => console.log(`state ${s.state} ${s.offset}`);
let s = await inst.resume();
say(s);
if (s.state === 'idle') s = await inst.begin(spec.release);
for (let i = 0; i < 100_000; i++) {
  if (s.next === 'download')
    s = await inst.writeChunk(image.subarray(s.offset, s.offset + spec.chunk));
  else if (s.next === 'verify') s = await inst.verify();
  else if (s.next === 'activate') s = await inst.activate();
  else if (s.next === 'health-check') s = await inst.confirm(true);
  else if (s.next === 'reboot') {
    console.log('reboot-required');
    break;
  } else {
    console.log(`done ${s.state}`);
    break;
  }
  say(s);
}
