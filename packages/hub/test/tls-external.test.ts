/**
 * Issue 13 item 3 with a real outside CA (root → intermediate → server certificate, made here
 * with openssl): the hub process serves it, the CA bundle it hands out (runtime.json's ca.pem,
 * `device create`'s ca.pem) verifies it, so the CLI and an mTLS MQTT device (mosquitto_pub and
 * MQTT.js) connect; SIGHUP swaps the certificate without dropping connections; a bad file on
 * reload keeps the old certificate and logs why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { externalCa, type ExternalCa } from './external-ca.js';
import { startTestHub } from './helpers.js';

const BIN = new URL('../../../cli/bin/bulwark.js', import.meta.url).pathname;
const PASSWORD = 'a long and unguessable test passphrase';

type Run = { code: number; stdout: string; stderr: string };
function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  input = '',
): Promise<Run> {
  return new Promise((resolve) => {
    const c = execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    c.stdin?.end(input);
  });
}
const bulwark = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [BIN, ...args], { BULWARK_PASSWORD: PASSWORD, ...env });

/** A valid `twin/reported` payload. */
const reported = (version: number) =>
  JSON.stringify({ version, desiredVersion: 0, state: { fw: `1.${version}` }, errors: [] });

/** The subject CN the server at `port` presents, verified against `caFile` (openssl s_client). */
async function servedCn(port: number, caFile: string): Promise<string> {
  const r = await run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      caFile,
      '-verify_return_error',
      '-servername',
      'localhost',
    ],
    {},
    'Q\n',
  );
  assert.match(r.stdout, /Verify return code: 0 \(ok\)/, r.stdout + r.stderr);
  return /subject=\s*CN\s*=\s*(\S+)/.exec(r.stdout)?.[1] ?? `(none in ${r.stdout})`;
}

describe('TLS with a certificate from an outside CA', () => {
  let ca: ExternalCa;
  before(() => {
    ca = externalCa();
  });
  after(() => ca.remove());

  it('refuses to start when nothing reaches the root of --tls-cert, saying to give --tls-ca', async () => {
    const one = ca.issue('hub-one');
    await assert.rejects(
      startTestHub(['--tls-cert', one.fullchain, '--tls-key', one.key]),
      /--tls-cert .*hub-one\.fullchain\.pem: no certificate of "O=Outside CA, CN=Outside Root", which issued "O=Outside CA, CN=Outside Intermediate".*give it with --tls-ca FILE/,
    );
    const other = ca.issue('hub-other');
    await assert.rejects(
      startTestHub(['--tls-cert', one.fullchain, '--tls-key', other.key, '--tls-ca', ca.root]),
      /--tls-key .*hub-other\.key\.pem is not the key of the certificate in --tls-cert/,
    );
  });

  describe('a hub process on it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-tls-ext-'));
    const dataDir = join(dir, 'data');
    const certFile = join(dir, 'server.pem');
    const keyFile = join(dir, 'server.key');
    let hub: ChildProcess;
    let log = '';
    let rt: { httpPort: number; mqttPort: number; caFile: string };
    let env: Record<string, string>;
    let deviceId = '';
    const devDir = join(dir, 'sensor-1');

    before(async () => {
      const one = ca.issue('hub-one');
      copyFileSync(one.fullchain, certFile);
      copyFileSync(one.key, keyFile);
      const tlsFlags = ['--tls-cert', certFile, '--tls-key', keyFile, '--tls-ca', ca.root];
      const owner = await bulwark([
        'admin',
        'create-owner',
        '--data-dir',
        dataDir,
        '--email',
        'owner@example.com',
      ]);
      assert.equal(owner.code, 0, owner.stderr);
      const key = await bulwark(['admin', 'api-key', '--data-dir', dataDir, '--name', 'ci']);
      assert.equal(key.code, 0, key.stderr);
      env = { BULWARK_DATA_DIR: dataDir, BULWARK_API_KEY: key.stdout.trim() };
      hub = spawn(
        process.execPath,
        [
          BIN,
          'hub',
          '--data-dir',
          dataDir,
          '--http-host',
          '127.0.0.1',
          '--http-port',
          '0',
          '--mqtt-port',
          '0',
          '--log-level',
          'info',
          ...tlsFlags,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      hub.stdout!.on('data', (b: Buffer) => (log += b.toString()));
      hub.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      const runtime = join(dataDir, 'runtime.json');
      for (let i = 0; i < 600 && !existsSync(runtime) && hub.exitCode === null; i++)
        await sleep(100);
      assert.ok(existsSync(runtime), `the hub did not start:\n${log}`);
      rt = JSON.parse(readFileSync(runtime, 'utf8')) as typeof rt;
    });
    after(async () => {
      if (hub?.exitCode === null) {
        hub.kill('SIGTERM');
        await new Promise((r) => hub.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it("runtime.json's CA bundle holds the outside root and the hub's own CA; the CLI works with it", async () => {
      const pems =
        readFileSync(rt.caFile, 'utf8').match(
          /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
        ) ?? [];
      const subjects = pems.map((p) => new X509Certificate(p).subject.replace(/\n/g, ', '));
      assert.ok(subjects.includes('O=Outside CA, CN=Outside Root'), subjects.join(' | '));
      assert.ok(
        subjects.some((s) => /Bulwark/i.test(s)),
        subjects.join(' | '),
      );
      assert.match(log, /TLS certificate from .*server\.pem/);
      assert.equal(await servedCn(rt.httpPort, rt.caFile), 'hub-one');
      const who = await bulwark(['whoami'], env);
      assert.equal(who.code, 0, who.stderr);
    });

    it('a device made with `device create` connects over mTLS MQTT with its ca.pem (mosquitto_pub and MQTT.js)', async () => {
      const made = await bulwark(
        ['device', 'create', 'sensor-1', '--type', 'esp32', '--out', devDir],
        env,
      );
      assert.equal(made.code, 0, made.stderr);
      deviceId = (
        JSON.parse(readFileSync(join(devDir, 'device.json'), 'utf8')) as { deviceId: string }
      ).deviceId;
      const verify = await run('openssl', [
        'verify',
        '-CAfile',
        join(devDir, 'ca.pem'),
        join(devDir, 'cert.pem'),
      ]);
      assert.equal(verify.code, 0, verify.stderr);
      const pub = await run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(rt.mqttPort),
        '--cafile',
        join(devDir, 'ca.pem'),
        '--cert',
        join(devDir, 'cert.pem'),
        '--key',
        join(devDir, 'key.pem'),
        '-i',
        deviceId,
        '-V',
        'mqttv5',
        '-q',
        '1',
        '-t',
        `$devices/${deviceId}/twin/reported`,
        '-m',
        reported(1),
      ]);
      assert.equal(pub.code, 0, `mosquitto_pub: ${pub.stderr}`);
    });

    it('SIGHUP serves a new certificate to new connections; open connections stay', async () => {
      const device = await connectDevice();
      try {
        const two = ca.issue('hub-two');
        copyFileSync(two.fullchain, certFile);
        copyFileSync(two.key, keyFile);
        hub.kill('SIGHUP');
        let cn = '';
        for (let i = 0; i < 50 && cn !== 'hub-two'; i++) {
          cn = await servedCn(rt.mqttPort, rt.caFile);
          if (cn !== 'hub-two') await sleep(200);
        }
        assert.equal(cn, 'hub-two');
        assert.equal(await servedCn(rt.httpPort, rt.caFile), 'hub-two');
        assert.match(log, /TLS certificate reloaded/);
        // The connection made before the reload still works: a QoS 1 round trip.
        assert.equal(device.connected, true);
        await device.publishAsync(`$devices/${deviceId}/twin/reported`, reported(2), { qos: 1 });
      } finally {
        await device.endAsync();
      }
    });

    it('a bad file on SIGHUP keeps the running certificate and logs exactly what is wrong', async () => {
      const three = ca.issue('hub-three');
      copyFileSync(three.fullchain, certFile); // the key file still holds hub-two's key
      const before = log.length;
      hub.kill('SIGHUP');
      for (let i = 0; i < 50 && !/TLS reload failed/.test(log.slice(before)); i++) await sleep(100);
      assert.match(
        log.slice(before),
        /TLS reload failed, still serving the previous certificate: --tls-key .*server\.key is not the key of the certificate in --tls-cert .*server\.pem \(CN=hub-three\)/,
      );
      assert.equal(await servedCn(rt.httpPort, rt.caFile), 'hub-two');
      writeFileSync(certFile, 'not a certificate\n');
      const mark = log.length;
      hub.kill('SIGHUP');
      for (let i = 0; i < 50 && !/TLS reload failed/.test(log.slice(mark)); i++) await sleep(100);
      assert.match(log.slice(mark), /--tls-cert .*server\.pem: no PEM certificate in the file/);
      assert.equal(await servedCn(rt.mqttPort, rt.caFile), 'hub-two');
      const who = await bulwark(['whoami'], env);
      assert.equal(who.code, 0, who.stderr);
    });

    function connectDevice(): Promise<MqttClient> {
      const c = mqtt.connect(`mqtts://127.0.0.1:${rt.mqttPort}`, {
        ca: readFileSync(join(devDir, 'ca.pem')),
        cert: readFileSync(join(devDir, 'cert.pem')),
        key: readFileSync(join(devDir, 'key.pem')),
        clientId: deviceId,
        protocolVersion: 5,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      return new Promise((resolve, reject) => {
        c.once('connect', () => resolve(c));
        c.once('error', (e) => {
          c.end(true);
          reject(e);
        });
      });
    }
  });
});
