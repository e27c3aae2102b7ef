/**
 * The self-contained agent (decision 0028): scripts/build-agent.mjs bundles it into one file,
 * which is copied to a directory with no node_modules anywhere above it and run there — help,
 * version, a refused configuration, and a real enrollment and connection to a hub, with the
 * watchdog's supervisor forking that same file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { spawnLines, writeConfig, type LineProcess } from './process-helpers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Whether any directory from `dir` up to / holds a node_modules (module resolution would see it). */
function nodeModulesAbove(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return join(d, 'node_modules');
    if (dirname(d) === d) return undefined;
  }
}

describe('the self-contained agent (bulwark-agent.js)', () => {
  let t: TestHub;
  let build: string;
  let device: string;
  let bin: string;
  let p: LineProcess | undefined;

  before(async () => {
    build = tempDir('bulwark-agent-build-');
    device = tempDir('bulwark-agent-device-');
    await run(process.execPath, [join(ROOT, 'scripts', 'build-agent.mjs'), '--out', build], {
      cwd: ROOT,
      timeout: 120_000,
    });
    bin = join(device, 'bulwark-agent.js');
    copyFileSync(join(build, 'bulwark-agent.js'), bin);
    t = await startTestHub();
  });
  after(async () => {
    await p?.kill9();
    await t?.close();
    cleanup(build, device);
  });

  it('is one file, run from a directory where no node_modules can be found', async () => {
    assert.deepEqual(readdirSync(device), ['bulwark-agent.js']);
    assert.equal(nodeModulesAbove(device), undefined);
    const help = await run(process.execPath, [bin, '--help'], { cwd: device });
    assert.match(help.stdout, /usage: bulwark-agent --config FILE/);
    const version = await run(process.execPath, [bin, '--version'], { cwd: device });
    assert.match(version.stdout, /^bulwark-agent \d+\.\d+\.\d+\n$/);
    const setupHelp = await run(process.execPath, [bin, 'setup', '--help'], { cwd: device });
    assert.match(setupHelp.stdout, /bulwark agent setup --config FILE/);
  });

  it('refuses a bad configuration with the same message and code as `bulwark agent`', async () => {
    const file = writeConfig(join(device, 'bad.json'), {
      hubUrl: t.url,
      mqttUrl: 'mqtts://127.0.0.1:1',
      caFile: t.caFile,
      stateDir: join(device, 'bad-state'),
      conection: {},
    });
    const err = await run(process.execPath, [bin, '--config', file], { cwd: device }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((err as { code: number }).code, 2);
    assert.match((err as { stderr: string }).stderr, /unknown key conection/);
  });

  it('enrolls, connects under its watchdog and goes offline on SIGTERM', async () => {
    const s = await setupOwner(t);
    const channelId = (await s.api.call('createChannel', { body: { name: 'standalone' } })).id;
    const { deviceId, token } = await provisionDevice(s.api, 'standalone-1', channelId);
    const file = writeConfig(join(device, 'agent.json'), {
      hubUrl: t.url,
      mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
      caFile: t.caFile,
      stateDir: join(device, 'state'),
      enrollment: { token },
      connection: { backoffMinMs: 50, backoffMaxMs: 500 },
      localPort: { enabled: false },
      mdns: { enabled: false },
    });
    p = spawnLines([bin, '--config', file], { detached: true });
    // The supervisor forked this same file as its worker.
    await p.waitFor((l) => (/worker started/.test(l) ? true : undefined), 15_000);
    await p.waitFor((l) => (/connected to mqtts/.test(l) ? true : undefined), 20_000);
    await waitFor(
      async () => (await s.api.call('getPresence', { params: { id: deviceId } })).online,
      'presence online',
    );
    assert.ok(existsSync(join(device, 'state', 'identity', 'cert-1.json')));
    process.kill(p.child.pid!, 'SIGTERM');
    assert.equal(await p.exited, 0);
    await waitFor(
      async () => !(await s.api.call('getPresence', { params: { id: deviceId } })).online,
      'presence offline after a clean stop',
    );
  });
});
