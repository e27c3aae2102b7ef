// Our own Mosquitto for the mutual-TLS references of bench/handshakes.mjs and bench/reconnect.mjs:
// a temp config on a free loopback port (or the one given, for a restart on the same port),
// `require_certificate true` trusting the devices' CA chain, a throwaway P-256 server certificate.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free loopback port: bind port 0, note it, close. */
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Mosquitto with `require_certificate true` trusting the devices' CA chain, on a throwaway
 * P-256 server certificate; the clients trust that certificate too. Anonymous apart from the
 * certificate, nothing persisted: the TLS handshake and CONNECT are what is compared.
 */
/**
 * Starts Mosquitto trusting `chainPem` for client certificates; returns { port, pid, ca (its
 * server certificate, for the clients), restart(), stop() }.
 */
export async function startMosquitto(chainPem) {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-mosq-'));
  const openssl = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.crt',
    '-subj',
    '/CN=127.0.0.1',
    '-days',
    '1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  writeFileSync(join(dir, 'clients-ca.pem'), chainPem);
  const port = await freePort();
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      `listener ${port} 127.0.0.1`,
      `cafile ${join(dir, 'clients-ca.pem')}`,
      `certfile ${join(dir, 'server.crt')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'allow_anonymous true',
      'persistence false',
      'log_type error',
      '',
    ].join('\n'),
  );
  // Mosquitto drops root privileges before it reads its certificates.
  chmodSync(dir, 0o755);
  for (const f of ['server.key', 'server.crt', 'clients-ca.pem', 'mosquitto.conf'])
    chmodSync(join(dir, f), 0o644);
  let proc;
  /** Spawns Mosquitto on the config and waits (bounded: 10 s) until it accepts connections. */
  const launch = async () => {
    proc = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    const until = Date.now() + 10_000;
    for (;;) {
      const ok = await new Promise((r) => {
        const s = net.connect(port, '127.0.0.1', () => r(true) || s.destroy());
        s.on('error', () => r(false));
      });
      if (ok) return;
      if (Date.now() > until || proc.exitCode !== null) throw new Error('mosquitto did not start');
      await sleep(20);
    }
  };
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
  };
  await launch();
  return {
    port,
    get pid() {
      return proc.pid;
    },
    ca: readFileSync(join(dir, 'server.crt'), 'utf8'),
    /** Stops it and starts it again on the same port (its session-ticket key is new). */
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
