/**
 * Help that states the truth, checked against a real hub (decision 0029): the defaults `--help`
 * names are what the hub does when the flag is left out; and names where ids are, end to end.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type ManagedHub } from './management-hub.js';

let hub: ManagedHub;
let out: string;

/** The default a help line states, e.g. `controlled` from `controlled (the default: …)`. */
async function helpLine(argv: string[], flag: string): Promise<string> {
  const h = await hub.run([...argv, '--help']);
  assert.equal(h.code, 0);
  const line = h.stdout.split('\n').find((l) => l.includes(`--${flag} `));
  assert.ok(line !== undefined, `--${flag} in ${argv.join(' ')} --help`);
  return line;
}

describe('help defaults match the hub; names resolve on a real hub', () => {
  before(async () => {
    hub = await startHub();
    out = mkdtempSync(join(tmpdir(), 'bulwark-help-defaults-'));
  });
  after(async () => {
    await hub?.close();
    rmSync(out, { recursive: true, force: true });
  });

  test('device create without --mode makes the mode its help calls the default', async () => {
    const line = await helpLine(['device', 'create'], 'mode');
    const stated = /--mode M\s+(\w+) \(the default/.exec(line)?.[1];
    await hub.json(['device', 'create', 'defaults-1', '--type', 'pump', '--out', join(out, 'd1')]);
    // Found by its name, not its id.
    const d = await hub.json<{ name: string; mode: string }>(['device', 'get', 'defaults-1']);
    assert.equal(d.name, 'defaults-1');
    assert.equal(d.mode, stated);
  });

  test('command send without --timeout gets the deadline its help calls the default', async () => {
    const line = await helpLine(['command', 'send'], 'timeout');
    const stated = /\(default (\d+)h/.exec(line)?.[1];
    assert.ok(stated !== undefined, line);
    const c = await hub.json<{ id: string; deadline: string; createdAt: string }>([
      'command',
      'send',
      'defaults-1',
      'ping',
    ]);
    const hours = (Date.parse(c.deadline) - Date.parse(c.createdAt)) / 3_600_000;
    assert.ok(Math.abs(hours - Number(stated)) < 0.01, `${hours} h vs ${stated} h`);
  });

  test('a name nobody has is a clear error, and changes nothing', async () => {
    const r = await hub.run(['device', 'decommission', 'no-such-device']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no device named "no-such-device"/);
    assert.doesNotMatch(r.stderr, /format "uuid"/);
    const list = await hub.json<{ items: { state: string }[] }>(['device', 'list']);
    assert.ok(list.items.every((d) => d.state !== 'decommissioned'));
  });
});
