/**
 * `bulwark device import` and `bulwark device register` against a real hub process (decision
 * 0027): a CSV of 1,000 devices imports in one command; a file with bad rows is refused whole with
 * a reason per line and writes nothing; a registered device has a token and no key made here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type ManagedHub } from './management-hub.js';

interface Device {
  name: string;
  type: string;
  state: string;
  tags: string[];
  locationId: string | null;
}
/** `device list --all --json` (an array, or `{ items }` should the list shape be unified). */
type Listed = Device[] | { items: Device[] };
const itemsOf = (l: Listed): Device[] => (Array.isArray(l) ? l : l.items);

describe('bulwark device import / register', () => {
  let hub: ManagedHub;
  let dir: string;
  before(async () => {
    hub = await startHub();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-import-'));
  });
  after(() => hub?.close());

  const count = async () => itemsOf(await hub.json<Listed>(['device', 'list', '--all'])).length;

  test('a CSV of 1,000 devices imports in one command; the tokens go to a 0600 file', async () => {
    const site = await hub.json<{ id: string }>(['location', 'create', 'Plant', '--kind', 'site']);
    const lines = ['name,type,tags,location,mode'];
    for (let i = 0; i < 1000; i++)
      lines.push(
        `fleet-${String(i).padStart(4, '0')},esp32,batch:7;line:${i % 3},Plant,autonomous`,
      );
    const csv = join(dir, 'devices.csv');
    writeFileSync(csv, lines.join('\r\n') + '\r\n');
    const out = join(dir, 'tokens.json');
    const t0 = Date.now();
    const r = await hub.run(['device', 'import', csv, '--out', out, '--new-type', 'esp32']);
    const ms = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1000 devices registered; their enrollment tokens are in /);
    assert.doesNotMatch(r.stdout + r.stderr, /bwe_/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      devices: { line: number; id: string; name: string; token: string }[];
    };
    assert.equal(report.devices.length, 1000);
    assert.equal(new Set(report.devices.map((d) => d.token)).size, 1000);
    assert.equal(report.devices[0]?.line, 2);
    assert.equal(report.devices[999]?.name, 'fleet-0999');
    const listed = itemsOf(await hub.json<Listed>(['device', 'list', '--all', '--q', 'fleet-']));
    assert.equal(listed.length, 1000);
    assert.ok(listed.every((d) => d.state === 'provisioned' && d.locationId === site.id));
    assert.deepEqual(listed[1]?.tags, ['batch:7', 'line:1']);
    process.stdout.write(`# imported 1,000 devices in one command in ${ms} ms\n`);
    // The same file again: every row is now a taken name, and nothing is written.
    const again = await hub.run(['device', 'import', csv, '--out', join(dir, 'again.json')]);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /1000 of 1000 rows are invalid; nothing was written/);
    assert.match(
      again.stdout,
      /devices\.csv:2 \(fleet-0000\): a device named 'fleet-0000' already exists/,
    );
  });

  test('a file with bad rows is refused whole, each bad line named, and nothing is written', async () => {
    const before = await count();
    const csv = join(dir, 'bad.csv');
    writeFileSync(
      csv,
      [
        'Name,Type,Tags,Location',
        'good-1,esp32,,',
        'good-2,esp32,"a;b",',
        'good-2,esp32,,',
        'typo-1,esp23,,',
        'lost-1,esp32,,Atlantis',
        '"bad name",esp32,,',
      ].join('\n'),
    );
    const r = await hub.run(['device', 'import', csv, '--out', join(dir, 'bad.json')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /4 of 6 rows are invalid; nothing was written/);
    assert.match(r.stdout, /bad\.csv:4 \(good-2\): name 'good-2' is also on row 2/);
    assert.match(r.stdout, /bad\.csv:5 \(typo-1\): unknown type 'esp23'/);
    assert.match(r.stdout, /bad\.csv:6 \(lost-1\): unknown location 'Atlantis'/);
    assert.match(r.stdout, /bad\.csv:7 \(bad name\): "name" must be 1-128 letters/);
    assert.equal(await count(), before);
    assert.throws(() => statSync(join(dir, 'bad.json')));
    const json = await hub.run(['device', 'import', csv, '--json']);
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.stdout) as { ok: boolean; rows: { row: number }[] };
    assert.equal(doc.ok, false);
    assert.deepEqual(
      doc.rows.map((x) => x.row),
      [4, 5, 6, 7],
    );
  });

  test('refuses before sending: unknown columns, a ragged row, no --out', async () => {
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'name,type\nr-1,esp32,extra\n');
    const r1 = await hub.run(['device', 'import', ragged, '--out', join(dir, 'r.json')]);
    assert.equal(r1.code, 1);
    assert.match(r1.stdout, /ragged\.csv:2: 3 fields where the header has 2/);
    const cols = join(dir, 'cols.csv');
    writeFileSync(cols, 'name,type,colour\nc-1,esp32,red\n');
    const r2 = await hub.run(['device', 'import', cols, '--out', join(dir, 'c.json')]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /unknown column\(s\) 'colour'/);
    const r3 = await hub.run(['device', 'import', cols]);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /give --out FILE/);
  });

  test('register issues a token and makes no key; the device enrolls with its own', async () => {
    const work = mkdtempSync(join(tmpdir(), 'bulwark-register-'));
    const tokenFile = join(work, 'token.txt');
    const r = await hub.run([
      'device',
      'register',
      'sensor-r1',
      '--type',
      'rpi5',
      '--tag',
      'lab',
      '--token-file',
      tokenFile,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /bwe_/);
    assert.deepEqual(readdirSync(work), ['token.txt']);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    const e = await hub.run(['device', 'enroll', '--token', token, '--out', join(work, 'dev')]);
    assert.equal(e.code, 0, e.stderr);
    const taken = await hub.run(['device', 'register', 'sensor-r1', '--type', 'rpi5']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /a device named 'sensor-r1' already exists/);
  });

  test('provisioning create|list|get|revoke: the claim token goes to a 0600 file', async () => {
    const work = mkdtempSync(join(tmpdir(), 'bulwark-claim-'));
    const tokenFile = join(work, 'claim.token');
    const created = await hub.json<{
      claim: { id: string; maxDevices: number };
      tokenFile: string;
    }>([
      'provisioning',
      'create',
      'batch-7',
      '--type',
      'esp32',
      '--tag',
      'batch:7',
      '--max',
      '500',
      '--expires',
      '90d',
      '--hardware-pattern',
      'SN-7-*',
      '--token-file',
      tokenFile,
    ]);
    assert.equal(created.claim.maxDevices, 500);
    assert.match(readFileSync(tokenFile, 'utf8'), /^bwc_/);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const list = await hub.run(['provisioning', 'list']);
    assert.match(list.stdout, /batch-7\s+esp32\s+0\/500/);
    assert.doesNotMatch(list.stdout, /bwc_/);
    const revoked = await hub.json<{ revokedAt: string | null }>([
      'provisioning',
      'revoke',
      created.claim.id,
    ]);
    assert.ok(revoked.revokedAt);
    const again = await hub.run(['provisioning', 'revoke', created.claim.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already revoked/);
  });
});
