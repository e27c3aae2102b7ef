/**
 * `bulwark agent setup` as an operator runs it: it says what is missing (mode none, an absent
 * tool or partition), installs the first application image and points `current` at it, is ready
 * on a second run without touching the record, and refuses bad arguments.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanup, tempDir } from './helpers.js';
import { BIN, writeConfig } from './process-helpers.js';

const run = promisify(execFile);
type Out = { code?: number; stdout: string; stderr: string };
const setup = (...args: string[]): Promise<Out> =>
  run(process.execPath, [BIN, 'agent', 'setup', ...args]).then(
    (r) => ({ code: 0, ...r }),
    (e: Out) => e,
  );

describe('bulwark agent setup', () => {
  const dir = tempDir('bulwark-agent-setup-');
  after(() => cleanup(dir));
  const base = {
    hubUrl: 'https://127.0.0.1:8443',
    mqttUrl: 'mqtts://127.0.0.1:8883',
    caFile: 'ca.pem',
    stateDir: join(dir, 'state'),
  };

  it('says what is missing: updates off, a partition that is not there', async () => {
    let r = await setup('--config', writeConfig(join(dir, 'none.json'), base));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /MISSING update.mode is none[^\n]*\n\s+→ set update.mode/);
    assert.match(r.stdout, /updates: not ready/);
    r = await setup(
      '--config',
      writeConfig(join(dir, 'grub.json'), {
        ...base,
        update: {
          mode: 'grub',
          slotsDir: join(dir, 'grub-slots'),
          slotImages: { a: join(dir, 'nope-a'), b: join(dir, 'nope-b') },
          grubEnvFile: join(dir, 'grubenv'),
        },
      }),
    );
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ok {6}grub-editenv is installed/);
    assert.match(r.stdout, /MISSING slot a image .*nope-a is writable/);
  });

  it('installs the first application image, then finds it ready without rewriting it', async () => {
    const file = writeConfig(join(dir, 'app.json'), {
      ...base,
      update: { mode: 'application', slotsDir: join(dir, 'app'), restartCommand: ['true'] },
    });
    let r = await setup('--config', file);
    assert.equal(r.code, 1, 'no image yet');
    assert.match(r.stdout, /MISSING slots in .* hold the application/);
    writeFileSync(join(dir, 'my-app'), 'v1 of the application');
    r = await setup('--config', file, '--image', join(dir, 'my-app'), '--version', '1.0.0');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /current points to slot a/);
    assert.equal(readlinkSync(join(dir, 'app', 'current')), 'a');
    assert.equal(
      readFileSync(join(dir, 'app', 'current', 'image'), 'utf8'),
      'v1 of the application',
    );
    const control = readFileSync(join(dir, 'app', 'boot-control.json'), 'utf8');
    r = await setup('--config', file, '--image', join(dir, 'my-app'), '--version', '9.9.9');
    assert.equal(r.code, 0);
    assert.equal(readFileSync(join(dir, 'app', 'boot-control.json'), 'utf8'), control);
    const manifest = JSON.parse(readFileSync(join(dir, 'app', 'a', 'manifest.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(manifest.version, '1.0.0', 'an existing install is never overwritten');
  });

  it('refuses bad arguments', async () => {
    assert.equal((await setup()).code, 2);
    const r = await setup('--config', 'x.json', '--image', 'app');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--image and --version go together/);
  });
});
