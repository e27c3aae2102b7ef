/**
 * `--help` on every command prints its usage on stdout and exits 0 (issue 13): every remote
 * command of the table, every group, and the local and device commands the hub and agent
 * packages run (through the real binary, as a user calls them).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { AGENT_COMMAND_PATHS, COMMANDS, LOCAL_COMMAND_PATHS, main } from '@bulwark/cli';
import { captureIo } from './helpers.js';

const BIN = new URL('../../bin/bulwark.js', import.meta.url).pathname;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('--help on every command', () => {
  test('every remote command and every group prints its usage and exits 0', async () => {
    assert.ok(COMMANDS.length > 50);
    const groups = new Set<string>();
    for (const cmd of COMMANDS) {
      for (const h of ['--help', '-h']) {
        const c = captureIo();
        assert.equal(await main([...cmd.path, h], c.io), 0, `${cmd.path.join(' ')} ${h}`);
        assert.match(c.stdout, new RegExp(`^usage: bulwark ${cmd.path.join(' ')}`));
        assert.equal(c.stderr, '');
      }
      for (let i = 1; i < cmd.path.length; i++) groups.add(cmd.path.slice(0, i).join(' '));
    }
    for (const g of groups) {
      if (COMMANDS.some((c) => c.path.join(' ') === g)) continue; // a command itself
      const c = captureIo();
      assert.equal(await main([...g.split(' '), '--help'], c.io), 0, g);
      assert.match(c.stdout, /^commands:/);
    }
  });

  test('the hub, admin, audit and agent commands print their usage and exit 0', async () => {
    // The hub package's own table is the truth: a local command missing from the CLI's list
    // (so never routed to the hub) fails here. A variable specifier keeps the CLI untied to it.
    const spec = '@bulwark/hub';
    const hub = (await import(spec)) as { LOCAL_COMMANDS: { path: readonly string[] }[] };
    const local = [
      ...new Map(
        [...LOCAL_COMMAND_PATHS, ...hub.LOCAL_COMMANDS.map((c) => c.path)].map((p) => [
          p.join(' '),
          p,
        ]),
      ).values(),
    ];
    for (const path of [...local, ...AGENT_COMMAND_PATHS, ['admin'], ['audit']]) {
      // -h once per package (the same check runs for both): each spawn costs a CLI start.
      for (const h of path.length === 1 ? ['--help', '-h'] : ['--help']) {
        const r = await run([...path, h]);
        assert.equal(r.code, 0, `${path.join(' ')} ${h}: ${r.stderr}`);
        assert.match(r.stdout, /usage|bulwark/i, `${path.join(' ')} ${h}`);
        assert.doesNotMatch(r.stderr, /error/, `${path.join(' ')} ${h}`);
        if (local.includes(path))
          assert.match(r.stdout, new RegExp(`^usage: bulwark ${path.join(' ')}`));
      }
    }
    // `bulwark help admin api-key` is `bulwark admin api-key --help`
    const r = await run(['help', 'admin', 'api-key']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: bulwark admin api-key/);
    assert.match(r.stdout, /--config FILE/);
  });
});
