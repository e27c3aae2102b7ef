/**
 * The README walk as written (issue 13): the ```sh blocks of README.md's "Five-minute quickstart",
 * "Messages", "Firmware updates" and "Devices" sections are read at test time and each command is
 * run with bash in a temp dir, with the clone's own `bulwark` first on PATH — from the owner to a
 * firmware update of a real agent on this machine in application mode. Only the fixed ports (the
 * hub here binds port 0) and the README's placeholders are substituted, with values the previous
 * commands printed or wrote; the lines that need a human are in SKIP, each with its reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readmeCommands, type ReadmeCommand } from './readme-commands.js';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const SECTIONS = ['Five-minute quickstart', 'Messages', 'Firmware updates', 'Devices'];

/** Commands not run, by their start, and why. */
const SKIP: [string, string][] = [
  // The test starts the hub itself on port 0 (`bulwark hub --data-dir .bulwark …`, below).
  ['npm install && npm start', 'the hub is started by the test'],
  // The README gives `bulwark admin create-owner` as the alternative; one owner only.
  ['curl --cacert .bulwark/ca.pem https://127.0.0.1:8443/api/v1/setup', 'admin alternative'],
  // A loop that a human ends.
  ['bulwark rollout status <rollout-id> --watch', 'interactive --watch loop'],
  // Only for a policy that paused itself at its failure threshold; this one is active.
  ['bulwark firmware current resume', 'nothing paused'],
];

/** What the operator would type at create-owner's password prompt. */
const PASSWORD = 'a long passphrase for the walk';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

describe('the README walk, as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-walk-'));
  const groups: number[] = [];
  let hub: ChildProcess;
  let hubOut = '';
  let env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`,
    BULWARK_PASSWORD: PASSWORD,
  };
  // A reader's shell: none of the runner's own BULWARK_* settings.
  for (const k of Object.keys(env))
    if (k.startsWith('BULWARK_') && k !== 'BULWARK_PASSWORD') delete env[k];
  let ports = { http: 0, mqtt: 0 };

  before(async () => {
    hub = spawn(
      'bulwark',
      [
        'hub',
        '--data-dir',
        '.bulwark',
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
        '--http-host',
        '127.0.0.1',
      ],
      { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    groups.push(hub.pid!);
    hub.stdout!.on('data', (b: Buffer) => (hubOut += b.toString()));
    hub.stderr!.on('data', (b: Buffer) => (hubOut += b.toString()));
    const rtFile = join(dir, '.bulwark', 'runtime.json');
    for (let i = 0; i < 300 && !existsSync(rtFile); i++) await sleep(100);
    assert.ok(existsSync(rtFile), `the hub did not start:\n${hubOut}`);
    const rt = JSON.parse(readFileSync(rtFile, 'utf8')) as { httpPort: number; mqttPort: number };
    ports = { http: rt.httpPort, mqtt: rt.mqttPort };
  });

  after(async () => {
    // The hub's and each command's process group (the background agent is in its command's).
    for (const g of groups) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs one command with bash in the temp dir; the environment it leaves is the next one's. */
  function bash(command: string, timeoutMs: number): Promise<Run> {
    const envFile = join(dir, '.walk-env');
    const script = `set -o pipefail\n${command}\n__rc=$?\nenv -0 > ${envFile}\nexit $__rc\n`;
    return new Promise((resolve) => {
      const c = spawn('bash', ['-c', script], {
        cwd: dir,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      groups.push(c.pid!);
      let out = '';
      let err = '';
      c.stdout.on('data', (b: Buffer) => (out += b.toString()));
      c.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const timer = setTimeout(() => {
        err += `\n(timed out after ${timeoutMs} ms)`;
        try {
          process.kill(-c.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, timeoutMs);
      c.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0 && existsSync(envFile)) {
          const next: NodeJS.ProcessEnv = {};
          for (const kv of readFileSync(envFile, 'utf8').split('\0')) {
            const i = kv.indexOf('=');
            if (i > 0) next[kv.slice(0, i)] = kv.slice(i + 1);
          }
          env = next;
        }
        resolve({ code, out, err });
      });
    });
  }

  it('runs from the owner to a firmware update of a real agent in application mode', async () => {
    const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'), SECTIONS);
    const captured = new Map<string, string>();
    const deviceJson = () =>
      JSON.parse(readFileSync(join(dir, 'sensor-1', 'device.json'), 'utf8')) as Record<
        string,
        string
      >;
    const value = (placeholder: string): string | undefined => {
      switch (placeholder) {
        case '<device-id>':
          return deviceJson()['deviceId'];
        case '<org-id>':
          return deviceJson()['organizationId'];
        case '<serial>':
          return deviceJson()['serial'];
        case 'bws_…':
          return /Setup token: (bws_\S+)/.exec(hubOut)?.[1];
        default:
          return captured.get(placeholder);
      }
    };
    const capture = (c: ReadmeCommand, out: string) => {
      const rules: [RegExp, RegExp, string][] = [
        [/^bulwark channel create /, /channels\/([0-9a-f-]{36})\/messages/, '<channel-id>'],
        [/^bulwark device key create /, /(bwd_[A-Za-z0-9_-]+)/, 'bwd_…'],
        [/^bulwark firmware upload /, /^id\s+(\S+)/m, '<artifact-id>'],
        [/^bulwark rollout create /, /^rollout (\S+)/m, '<rollout-id>'],
      ];
      for (const [when, what, name] of rules) {
        if (!when.test(c.text)) continue;
        const m = what.exec(out);
        assert.ok(m, `no ${name} in the output of\n${c.text}\n${out}`);
        captured.set(name, m[1]!);
      }
    };

    const ran: string[] = [];
    const outputs = new Map<string, string>();
    for (const c of commands) {
      const skip = SKIP.find(([start]) => c.text.startsWith(start));
      if (skip) continue;
      let text = c.text
        .replace(/\b8443\b/g, String(ports.http))
        .replace(/\b8883\b/g, String(ports.mqtt));
      // Placeholders: <name> (not a heredoc's << nor a redirection), bws_…, bwd_….
      text = text.replace(/<[a-z][a-z-]*>|bw[sd]_…/g, (p) => {
        const v = value(p);
        assert.ok(v, `${c.section}: no value for ${p} in\n${c.text}`);
        return v;
      });
      const timeout = /--wait/.test(text) ? 120_000 : 60_000;
      const r = await bash(text, timeout);
      assert.equal(
        r.code,
        0,
        `${c.section}: \`${c.text}\` failed (exit ${r.code}):\n${r.out}\n${r.err}` +
          (existsSync(join(dir, 'agent.log'))
            ? `\nagent.log:\n${readFileSync(join(dir, 'agent.log'), 'utf8')}`
            : ''),
      );
      capture(c, r.out);
      ran.push(c.text);
      outputs.set(c.text.split(/\s+/).slice(0, 2).join(' '), r.out);
    }

    // After the deploy, the agent's `current` slot held the signed v2 image: slot b.
    assert.match(outputs.get('cat app/current/image') ?? '', /app 2\.0\.0/, ran.join('\n'));
    assert.equal(readlinkSync(join(dir, 'app', 'current')), 'b');
    for (const start of [
      'bulwark admin create-owner',
      'mosquitto_pub',
      'bulwark publish',
      'bulwark device revoke',
      'bulwark firmware root push',
      'bulwark device register',
      'cat > agent.json',
      'bulwark agent setup',
      'bulwark agent --config',
      'bulwark firmware sign',
      'bulwark update deploy',
      'bulwark rollout create',
    ])
      assert.ok(
        ran.some((t) => t.startsWith(start)),
        `the walk no longer has ${start}:\n${ran.join('\n')}`,
      );
  });
});
