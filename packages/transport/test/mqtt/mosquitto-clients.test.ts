/**
 * Interop with a real third-party client: Debian's mosquitto_pub / mosquitto_sub against the
 * engine's TCP listener. Under CI a missing binary is a failure; locally it is a skip.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { IN_CI, startBroker, until } from './helpers.js';

const run = promisify(execFile);
const have = (bin: string): boolean => spawnSync(bin, ['--help']).error === undefined;
const present = have('mosquitto_pub') && have('mosquitto_sub');
const skip =
  present || IN_CI ? false : 'mosquitto-clients not installed (apt-get install mosquitto-clients)';

describe('mosquitto_pub / mosquitto_sub against the engine', { skip }, () => {
  for (const version of ['mqttv311', 'mqttv5'] as const) {
    it(`${version}: mosquitto_sub receives QoS 0/1/2 and retained messages from mosquitto_pub`, async () => {
      assert.ok(present, 'mosquitto_pub and mosquitto_sub must be installed in CI');
      const b = await startBroker();
      try {
        const port = String(b.port);
        await run('mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          port,
          '-V',
          version,
          '-t',
          'm/retained',
          '-m',
          'kept',
          '-r',
          '-q',
          '1',
        ]);
        const sub = spawn('mosquitto_sub', [
          '-h',
          '127.0.0.1',
          '-p',
          port,
          '-V',
          version,
          '-t',
          'm/#',
          '-q',
          '2',
          '-v',
          '-C',
          '4',
          '-W',
          '10',
        ]);
        let out = '';
        sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
        // 'close', not 'exit': exit can fire before the child's stdout has been read to the end.
        const exited = new Promise<number | null>((r) => sub.on('close', r));
        await until(() => b.engine.stats().subscriptions === 1, 5000, 'mosquitto_sub subscribed');
        for (const q of ['0', '1', '2']) {
          await run('mosquitto_pub', [
            '-h',
            '127.0.0.1',
            '-p',
            port,
            '-V',
            version,
            '-t',
            `m/q${q}`,
            '-m',
            `hello-${q}`,
            '-q',
            q,
          ]);
        }
        assert.equal(await exited, 0);
        const lines = out.trim().split('\n').sort();
        assert.deepEqual(lines, [
          'm/q0 hello-0',
          'm/q1 hello-1',
          'm/q2 hello-2',
          'm/retained kept',
        ]);
      } finally {
        await b.close();
      }
    });
  }

  it('mosquitto_pub is refused on a protected topic in open mode (v5 shows the reason)', async () => {
    const b = await startBroker();
    try {
      const r = await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(b.port),
        '-V',
        'mqttv5',
        '-t',
        'channels/x/messages',
        '-m',
        'no',
        '-q',
        '1',
        '-d',
      ]).catch((e: { stdout?: string; stderr?: string }) => ({
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }));
      assert.match(r.stdout + r.stderr, /PUBACK|not authori[sz]ed|135/i);
      assert.equal(b.engine.stats().denied.publish, 1);
    } finally {
      await b.close();
    }
  });
});
