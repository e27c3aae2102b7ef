/** `bulwark gateway --config FILE --no-watchdog` as a process: enrolls, serves, forwards, stops. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  connectDevice,
  enrollDevice,
  serverCert,
  setupOrg,
  startTestHub,
  stored,
  tempDir,
  tryConnect,
  waitFor,
  type TestHub,
} from './helpers.js';

const BIN = fileURLToPath(new URL('../../../cli/bin/bulwark.js', import.meta.url));

describe('bulwark gateway --config FILE', () => {
  let t: TestHub;
  let s: Awaited<ReturnType<typeof setupOrg>>;
  let dir: string;
  let proc: ChildProcess | undefined;

  before(async () => {
    t = await startTestHub();
    s = await setupOrg(t);
    dir = tempDir();
  });
  after(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the gateway: enrolls as its device, admits a site device, forwards its messages, stops on SIGTERM', async () => {
    const d = await s.api.devices.create({ name: 'gw-cli', type: 'gateway', locationId: s.siteId });
    const { token } = await s.api.devices.createEnrollmentToken(d.id, {});
    const tls = serverCert(dir);
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        hubUrl: t.url,
        mqttUrl: `mqtts://127.0.0.1:${t.mqttPort}`,
        caFile: t.caFile,
        stateDir: join(dir, 'state'),
        enrollment: { token },
        connection: { backoffMinMs: 50, backoffMaxMs: 500 },
        gateway: {
          broker: { host: '127.0.0.1', port: 0, certFile: tls.certFile, keyFile: tls.keyFile },
          syncIntervalSeconds: 1,
          inventory: { enabled: false },
        },
      }),
    );
    proc = spawn(process.execPath, [BIN, 'gateway', '--config', config, '--no-watchdog'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await waitFor(() => /gateway broker listening on [^:]+:(\d+)/.test(err), 'the broker', 30_000);
    const port = Number(/gateway broker listening on [^:]+:(\d+)/.exec(err)![1]);
    const g = { port, brokerCa: tls.pem };
    const dev = await enrollDevice(t, s.api, 'cli-sensor', {
      locationId: s.siteId,
      channelId: s.channelId,
    });
    // Admitted once the gateway's next sync has it.
    await waitFor(async () => (await tryConnect(g, dev)) === 'connected', 'admission', 20_000);
    const c = await connectDevice(g, dev);
    for (let n = 0; n < 10; n++)
      await c.publishAsync(`channels/${s.channelId}/messages/cli`, `c${n}`, { qos: 1 });
    await c.endAsync();
    await waitFor(async () => (await stored(s.api, s.channelId)).length === 10, 'stored', 20_000);
    assert.deepEqual(
      (await stored(s.api, s.channelId)).map((r) => [r.device, r.text]),
      Array.from({ length: 10 }, (_, n) => [dev.deviceId, `c${n}`]),
    );
    const device = await s.api.devices.get(d.id);
    assert.equal(device.type, 'gateway');
    proc.kill('SIGTERM');
    const [code] = (await once(proc, 'exit')) as [number | null];
    assert.equal(code, 0, err);
  });
});
