/**
 * `bulwark agent --config FILE` as a device runs it: enrolls, calls home, serves the local
 * management port with the enrolled identity, and stops cleanly on SIGTERM. Also the command's
 * refusal of a bad configuration.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import {
  cleanup,
  provisionDevice,
  setupOwner,
  startTestHub,
  tempDir,
  waitFor,
  type TestHub,
} from './helpers.js';
import { BIN, spawnAgent, writeConfig, type AgentProcess } from './process-helpers.js';

const run = promisify(execFile);

describe('bulwark agent (the command)', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOwner>>;
  let dir: string;
  let p: AgentProcess | undefined;

  before(async () => {
    t = await startTestHub();
    s = await setupOwner(t);
    dir = tempDir();
  });
  after(async () => {
    await p?.kill9();
    await t.close();
    cleanup(dir);
  });

  it('refuses a configuration with an unknown key, naming it', async () => {
    const file = writeConfig(join(dir, 'bad.json'), {
      hubUrl: t.url,
      mqttUrl: 'mqtts://127.0.0.1:1',
      caFile: t.caFile,
      stateDir: join(dir, 'bad-state'),
      conection: {},
    });
    const err = await run(process.execPath, [BIN, 'agent', '--config', file]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((err as { code: number }).code, 2);
    assert.match((err as { stderr: string }).stderr, /unknown key conection/);
  });

  it('enrolls, connects, serves the local port with its identity, and stops cleanly', async () => {
    const channelId = (await s.api.call('createChannel', { body: { name: 'cli' } })).id;
    const { deviceId, token } = await provisionDevice(s.api, 'cli-1', channelId);
    const state = join(dir, 'state');
    const file = writeConfig(join(dir, 'agent.json'), {
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      caFile: t.caFile,
      stateDir: state,
      enrollment: { token },
      localPort: { enabled: true, host: '127.0.0.1', port: 0 },
    });
    p = spawnAgent(file);
    await p.waitLine(/connected to mqtts/, 20_000);
    const port = Number((await p.waitLine(/local management port on 127\.0\.0\.1:(\d+)/))[1]);
    await waitFor(
      async () => (await s.api.call('getPresence', { params: { id: deviceId } })).online,
      'presence',
    );

    const chain = (
      JSON.parse(readFileSync(join(state, 'identity', 'cert-1.json'), 'utf8')) as {
        chain: string[];
      }
    ).chain;
    const { ticket } = await s.api.call('issueTicket', {
      params: { id: deviceId },
      body: { perm: 'read' },
    });
    const lines: string[] = [];
    const sock = connect({
      host: '127.0.0.1',
      port,
      ca: chain,
      // The device certificate names the device, not 127.0.0.1; the chain is what is checked here.
      checkServerIdentity: () => undefined,
    });
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      // Replies end in CRLF.
      const parts = buf.split('\r\n');
      buf = parts.pop() ?? '';
      lines.push(...parts);
    });
    await waitFor(() => lines.length >= 1, 'greeting');
    assert.match(lines[0]!, new RegExp(`^BULWARK-LOCAL 1 device=${deviceId}`));
    sock.write(`ticket ${ticket}\n`);
    await waitFor(() => lines.length >= 2, 'ticket answer');
    assert.match(lines[1]!, /^OK ticket accepted perm=read/);
    sock.write('get logging.level\n');
    await waitFor(() => lines.length >= 3, 'get answer');
    assert.equal(lines[2], 'OK "info"');
    sock.end('quit\n');

    process.kill(p.child.pid!, 'SIGTERM');
    assert.equal(await p.exited, 0);
    await waitFor(
      async () => !(await s.api.call('getPresence', { params: { id: deviceId } })).online,
      'presence offline after a clean stop',
    );
  });
});
