#!/usr/bin/env node
// `npm run demo:attack`: an attack seen, told and contained, on a throwaway hub (decision 0037).
// It starts a hub process on a temp data dir, a real SMTP server (Debian's python3-aiosmtpd) and an
// HTTPS receiver with a certificate made for the run (openssl), all on 127.0.0.1; configures a
// webhook and an email endpoint with a routing rule, and a quarantine mitigation policy, through
// the API; then runs `bulwark simulate --devices 5 --attack cloned-cert` (the last device's own
// certificate is used from 127.0.0.2 as well) and shows the alert, the webhook and the email
// received, and the device quarantined by the policy. ATTACK=KIND picks another attack (its
// detector must exist on this hub). Bounded: every wait has a deadline, the whole demo stops after
// DEMO_LIMIT_MS. Build first: npm run build.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '../packages/sdk/dist/src/index.js';
import { httpsFetch } from '../packages/agent/dist/src/runtime/https-fetch.js';
import { hubProcess } from '../bench/hub-process.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'packages/cli/bin/bulwark.js');
const DEMO_LIMIT_MS = 3 * 60_000;
const WAIT_MS = 60_000;
const ATTACK = process.env.ATTACK ?? 'cloned-cert';
const KINDS = {
  'password-guess': ['auth_bruteforce'],
  'cloned-cert': ['cloned_certificate', 'credential_conflict'],
  flood: ['message_flood'],
  'backdoor-port': ['new_listening_port'],
  'c2-connection': ['disallowed_connection'],
};
if (!KINDS[ATTACK]) {
  console.error(`ATTACK must be one of ${Object.keys(KINDS).join(', ')}`);
  process.exit(2);
}

let stepNo = 0;
const step = (title) => console.log(`\n== ${++stepNo}. ${title}`);
const say = (text) => console.log(`   ${text}`);
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
const limit = setTimeout(() => {
  console.error(`the demo did not finish within ${DEMO_LIMIT_MS / 1000} s`);
  process.exit(1);
}, DEMO_LIMIT_MS);
limit.unref();

async function until(what, f) {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > WAIT_MS) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const canConnect = (port) =>
  new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });

const tmp = mkdtempSync(join(tmpdir(), 'bulwark-demo-attack-'));
const hub = hubProcess('bulwark-demo-attack-hub-');
let receiver;
try {
  step('A hub, an SMTP server and an HTTPS receiver, all on 127.0.0.1');
  const info = await hub.start();
  const ca = readFileSync(info.caFile, 'utf8');
  const api = createClient({ baseUrl: info.url, token: hub.apiKey, fetch: httpsFetch({ ca }) });
  say(`hub ${info.url}, MQTT ${info.mqttPort}`);

  const smtpPort = await freePort();
  const mail = [];
  const smtp = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(smtp);
  let smtpOut = '';
  smtp.stdout.on('data', (b) => (smtpOut += b.toString()));
  smtp.stderr.on('data', (b) => (smtpOut += b.toString()));
  for (let i = 0; i < 100 && !(await canConnect(smtpPort)); i++) await sleep(100);
  if (!(await canConnect(smtpPort)))
    throw new Error(`aiosmtpd did not start (apt-get install python3-aiosmtpd):\n${smtpOut}`);
  say(`SMTP: /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:${smtpPort} (prints what it receives)`);

  // A self-signed certificate for 127.0.0.1, made for this run (never committed).
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(tmp, 'rx.key'),
      '-out',
      join(tmp, 'rx.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const hooks = [];
  receiver = createHttpsServer(
    { cert: readFileSync(join(tmp, 'rx.crt')), key: readFileSync(join(tmp, 'rx.key')) },
    (req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        hooks.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.statusCode = 204;
        res.end();
      });
    },
  );
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const rxUrl = `https://127.0.0.1:${receiver.address().port}`;
  say(`HTTPS receiver ${rxUrl}`);

  step('A webhook and an email endpoint, a rule routing every alert to both');
  const webhook = await api.notifications.endpoints.create({
    kind: 'webhook',
    name: 'soc',
    url: `${rxUrl}/hook`,
    secret: `whsec-demo-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    caPem: readFileSync(join(tmp, 'rx.crt'), 'utf8'),
  });
  const email = await api.notifications.endpoints.create({
    kind: 'email',
    name: 'ops mail',
    host: '127.0.0.1',
    port: smtpPort,
    security: 'none',
    from: 'bulwark@example.com',
    to: ['ops@example.com'],
  });
  await api.notifications.rules.create({
    name: 'everything',
    minSeverity: 'info',
    endpointIds: [webhook.id, email.id],
  });
  say(`endpoints ${webhook.id} (webhook), ${email.id} (email); rule: minimum severity info`);

  step(`A mitigation policy: quarantine a device on ${KINDS[ATTACK].join(' or ')}`);
  const policy = await api.call('createMitigationPolicy', {
    body: { name: 'contain', kinds: KINDS[ATTACK], minSeverity: 'info', action: 'quarantine' },
  });
  say(`policy ${policy.id}`);

  step(`bulwark simulate --devices 5 --attack ${ATTACK} --attack-after 5`);
  const channel = await api.channels.create({ name: 'telemetry' });
  const sim = spawn(
    process.execPath,
    [
      BIN,
      'simulate',
      '--devices',
      '5',
      '--prefix',
      'demo',
      '--channel',
      channel.id,
      '--mqtt',
      `mqtts://127.0.0.1:${info.mqttPort}`,
      '--attack',
      ATTACK,
      '--attack-after',
      '5',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        BULWARK_HUB: info.url,
        BULWARK_API_KEY: hub.apiKey,
        BULWARK_CA: info.caFile,
      },
    },
  );
  children.add(sim);
  let started;
  let buf = '';
  sim.stdout.on('data', (b) => {
    buf += b.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      say(`simulate: ${line}`);
      if (line.includes('"attack_started"')) started = JSON.parse(line);
    }
  });
  await until('the attack to start', () => started);

  step('The alert');
  const alert = await until('an alert about the attacking device', async () => {
    const page = await api.alerts.list({ deviceId: started.deviceId });
    return page.items.find((a) => KINDS[ATTACK].includes(a.kind));
  });
  const latency = (Date.parse(alert.openedAt) - Date.parse(started.startedAt)) / 1000;
  say(
    `${alert.kind} (${alert.severity}) "${alert.title}" ${latency.toFixed(1)} s after the attack began`,
  );

  step('The webhook and the email');
  const hook = await until('the webhook', () => hooks.find((h) => h.body.includes(alert.id)));
  say(`POST ${hook.path} signature ${String(hook.headers['bulwark-signature']).slice(0, 40)}…`);
  say(`body: ${hook.body.slice(0, 200)}…`);
  const msg = await until('the email', () =>
    smtpOut.includes('ops@example.com') && smtpOut.includes(alert.kind) ? smtpOut : undefined,
  );
  mail.push(msg);
  const subject = /Subject: .*/.exec(msg)?.[0] ?? '(no subject line seen)';
  say(`aiosmtpd received mail to ops@example.com — ${subject}`);

  step('The device contained by the policy');
  const q = await until('the quarantine', async () => {
    const m = await api.call('listMitigations', { query: { deviceId: started.deviceId } });
    return m.items.find((x) => x.action === 'quarantine' && x.state === 'applied');
  });
  const dev = await api.devices.get(started.deviceId);
  say(`mitigation ${q.id} by ${q.actor}: ${q.summary.join('; ')}`);
  say(
    `${dev.name} is ${dev.state}, ${((Date.parse(q.at) - Date.parse(alert.openedAt)) / 1000).toFixed(1)} s after the alert`,
  );
  sim.kill('SIGTERM');
  await new Promise((r) => sim.once('exit', r));
  console.log('\nDone.');
} catch (err) {
  console.error(`demo failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  receiver?.closeAllConnections();
  receiver?.close();
  for (const c of children) c.kill('SIGTERM');
  await hub.stop();
  hub.remove();
  rmSync(tmp, { recursive: true, force: true });
}
