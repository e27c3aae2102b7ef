// The reference broker of bench/ingest.mjs: our own Mosquitto on a free loopback port in a temp
// dir, with client certificates required from the SAME organization CA that signs the hub's device
// certificates (`cafile` = that chain), the certificate's CN as the user name, an ACL that lets
// them use the channel topics only, and `persistence true`. Its server certificate comes from a
// throwaway CA made here with openssl; the load generator trusts it beside the hub's.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adopt, onCleanup } from './mqtt-child.mjs';

const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free loopback port: bind port 0, note it, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function serverCertificate(dir) {
  const run = (args) =>
    execFileSync('openssl', args, {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 15_000,
    });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run(
    ['req', '-x509', ...ec, '-keyout', 'mca.key', '-out', 'mca.crt', '-days', '1'].concat([
      '-subj',
      '/CN=bench mosquitto CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ]),
  );
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  run(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'mca.crt',
      '-CAkey',
      'mca.key',
      '-days',
      '1',
    ].concat(['-set_serial', String(Date.now()), '-extfile', 'server.ext', '-out', 'server.crt']),
  );
}

/** The settings that matter for the comparison, as written into the config (printed by the bench). */
export const MOSQUITTO_SETTINGS =
  'require_certificate true, use_identity_as_username true, ACL on channels/#, persistence true (autosave_interval 1800 s, the default), max_queued_messages 1000 and max_inflight_messages 20 (defaults)';

/**
 * Starts Mosquitto in a temp dir of its own (removed by `stop()`); `orgChain` are the organization
 * CA PEMs. Resolves with { port, pid, clientCa (PEM the clients trust), stop() }.
 */
export async function startMosquitto(orgChain) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-mosquitto-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const release = onCleanup(removeDir);
  serverCertificate(dir);
  writeFileSync(join(dir, 'org-ca.pem'), orgChain.join(''));
  writeFileSync(join(dir, 'acl'), 'pattern readwrite channels/#\n');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      'per_listener_settings false',
      `listener ${port} 127.0.0.1`,
      `cafile ${join(dir, 'org-ca.pem')}`,
      `certfile ${join(dir, 'server.crt')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      'allow_anonymous false',
      `acl_file ${join(dir, 'acl')}`,
      'persistence true',
      `persistence_location ${dir}/`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  // Mosquitto started as root drops to its own user before it reads these: they must be readable,
  // and its persistence directory writable. The files are throwaway test material (no device key
  // is in this directory: those stay in the bench's private temp dir).
  chmodSync(dir, 0o777);
  for (const f of ['org-ca.pem', 'acl', 'server.crt', 'server.key', 'mosquitto.conf'])
    chmodSync(join(dir, f), 0o644);
  const proc = adopt(spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  let exited = false;
  const gone = new Promise((r) => proc.once('exit', r)).then(() => (exited = true));
  proc.once('error', (e) => (stderr += String(e)));
  const end = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`mosquitto exited: ${stderr.trim()}`);
    if (Date.now() > end) throw new Error(`mosquitto not listening on ${port} after 10 s`);
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) break;
    await sleep(100);
  }
  return {
    port,
    pid: proc.pid,
    clientCa: readFileSync(join(dir, 'mca.crt'), 'utf8'),
    stderr: () => stderr,
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      if (!exited) proc.kill('SIGKILL');
      release();
      removeDir();
    },
  };
}
