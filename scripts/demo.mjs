#!/usr/bin/env node
// `npm run demo`: a guided tour of device management on a throwaway hub, through the real `bulwark`
// binary. It starts a hub on a temp data dir, makes the owner and an API key with the local admin
// commands, builds a site with a hall and tagged devices, then
//   - changes a desired setting on every device of the hall at once (bulk twin set),
//   - sends a command to a device that is offline, which runs when the device connects,
//   - opens a ticketed `openssl s_client` session on that device's local TLS port.
// Every step prints the command it runs and its output. Steps that need a part that is not there
// (the simulator, the agent, openssl) say what is missing and the tour goes on without them.
// Bounded: each command has a timeout and the whole tour stops after DEMO_LIMIT_MS.
//
// Usage: npm run demo [-- --keep] [-- --devices N]   (build first: npm run build)
//   --keep      leave the hub running and its data dir in place at the end (Ctrl-C to stop)
//   --devices N simulated devices to add with `bulwark simulate` (default 100; 0 for none)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'packages/cli/bin/bulwark.js');
// The whole tour, including waiting for devices; a stuck step cannot keep it running past this.
const DEMO_LIMIT_MS = 4 * 60_000;
// One CLI command; the slowest (creating a device, with its key pair and certificate) takes ~1 s.
const COMMAND_TIMEOUT_MS = 60_000;

const { values: opts } = parseArgs({
  options: { keep: { type: 'boolean' }, devices: { type: 'string', default: '100' } },
});
const simulated = Number(opts.devices);
if (!Number.isInteger(simulated) || simulated < 0) {
  console.error(`--devices must be a whole number, not '${opts.devices}'`);
  process.exit(2);
}

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const indent = (text) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
let stepNo = 0;
const step = (title) => console.log(`\n${bold(`== ${++stepNo}. ${title}`)}`);
const say = (text) => console.log(`   ${text}`);
const missing = (what, why) => console.log(`   [skipped] needs ${what}${why ? `: ${why}` : ''}`);

const children = new Set();
// Whatever ends this process, the hub and agents it started end with it.
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
const dir = mkdtempSync(join(tmpdir(), 'bulwark-demo-'));
const dataDir = join(dir, 'hub');
let env = { ...process.env, BULWARK_DATA_DIR: dataDir };
delete env.BULWARK_HUB;
delete env.BULWARK_API_KEY;
delete env.BULWARK_TOKEN;

/** Runs a program to completion (bounded), optionally echoing the command line and its output. */
function run(cmd, args, { input, echo = true, show = true, timeoutMs = COMMAND_TIMEOUT_MS } = {}) {
  if (echo)
    console.log(`   $ ${[cmd === process.execPath ? 'bulwark' : cmd, ...shown(args)].join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: 127, stdout, stderr: String(err.message) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      const r = { code: code ?? 1, stdout, stderr };
      if (show && stdout.trim() !== '') console.log(indent(stdout));
      if (show && code !== 0 && stderr.trim() !== '') console.log(indent(stderr));
      resolve(r);
    });
    // A program that exits without reading its input (openssl version) must not crash the tour.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}
// Secrets (tickets, keys) are long; the echo shows their start only.
const shown = (args) =>
  args
    .slice(args[0] === BIN ? 1 : 0)
    .map((a) => (a.length > 60 ? `${a.slice(0, 16)}…` : /\s/.test(a) ? `'${a}'` : a));
const bulwark = (args, o) => run(process.execPath, [BIN, ...args], o);
/** `bulwark … --json`, parsed; throws with the command's error output when it fails. */
async function bulwarkJson(args, o = {}) {
  const r = await bulwark([...args, '--json'], { show: false, ...o });
  if (r.code !== 0) throw new Error(`bulwark ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}
/** Starts a long-running program; its output is kept for error messages. */
function background(args, label) {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.log = '';
  child.stdout.on('data', (b) => (child.log += b));
  child.stderr.on('data', (b) => (child.log += b));
  child.on('exit', () => children.delete(child));
  child.label = label;
  return child;
}
/** Polls `check` every 250 ms until it returns a truthy value or `ms` pass. */
async function until(ms, check) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() >= end) return undefined;
    await sleep(250);
  }
}
/** A free loopback TCP port (for the agent's local port, which the demo must know in advance). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
/** Whether something accepts TCP connections on a loopback port. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
async function stopAll() {
  for (const c of [...children]) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
  await until(5000, () => children.size === 0);
  for (const c of children) c.kill('SIGKILL');
}

const limit = setTimeout(() => {
  console.error(`\ndemo: stopped after ${DEMO_LIMIT_MS / 1000} s (a step hung)`);
  void stopAll().then(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
}, DEMO_LIMIT_MS);
limit.unref();

async function tour() {
  for (const p of ['packages/cli/dist/src/main.js', 'packages/hub/dist/src/index.js']) {
    if (!existsSync(join(ROOT, p))) throw new Error(`${p} is missing: run \`npm run build\` first`);
  }

  step('Start a hub on a temp data dir');
  say(`$ bulwark hub --data-dir ${dataDir} --http-port 0 --mqtt-port 0`);
  const hub = background(
    [
      'hub',
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--http-host',
      '127.0.0.1',
      '--log-level',
      'warn',
    ],
    'hub',
  );
  const runtimeFile = join(dataDir, 'runtime.json');
  const started = await until(30_000, () => existsSync(runtimeFile) || hub.exitCode !== null);
  if (!started || !existsSync(runtimeFile)) throw new Error(`the hub did not start:\n${hub.log}`);
  const rt = JSON.parse(readFileSync(runtimeFile, 'utf8'));
  say(`listening: API ${rt.url}, MQTT mqtts://127.0.0.1:${rt.mqttPort} (from ${runtimeFile})`);

  step('Create the owner and an API key (local admin commands on the data dir)');
  env = { ...env, BULWARK_PASSWORD: randomBytes(18).toString('base64url') };
  const owner = await bulwark([
    'admin',
    'create-owner',
    '--data-dir',
    dataDir,
    '--email',
    'owner@example.com',
    '--organization',
    'Demo Corp',
  ]);
  if (owner.code !== 0) throw new Error(`create-owner failed:\n${owner.stderr}`);
  const key = await bulwark(['admin', 'api-key', '--data-dir', dataDir, '--name', 'demo'], {
    show: false,
  });
  if (key.code !== 0) throw new Error(`api-key failed:\n${key.stderr}`);
  env = { ...env, BULWARK_API_KEY: key.stdout.trim().split('\n').pop() };
  delete env.BULWARK_PASSWORD;
  say(`BULWARK_API_KEY=${env.BULWARK_API_KEY.slice(0, 12)}…  BULWARK_DATA_DIR=${dataDir}`);

  step('Build a site with a hall, and three tagged devices (two in the hall)');
  const site = await bulwarkJson(['location', 'create', 'Plant A', '--kind', 'site'], {
    echo: true,
  });
  const hall = await bulwarkJson(
    ['location', 'create', 'Hall 1', '--kind', 'building', '--parent', site.id],
    { echo: true },
  );
  await bulwark(['location', 'list']);
  const devices = {};
  for (const [name, where, tag] of [
    ['press-1', hall.id, 'line-1'],
    ['press-2', hall.id, 'line-1'],
    ['dock-1', site.id, 'dock'],
  ]) {
    const out = join(dir, 'devices', name);
    const r = await bulwark(
      [
        'device',
        'create',
        name,
        '--type',
        'press',
        '--tag',
        tag,
        '--location',
        where,
        '--out',
        out,
      ],
      { show: false },
    );
    if (r.code !== 0) throw new Error(`device create ${name} failed:\n${r.stderr}`);
    devices[name] = { ...JSON.parse(readFileSync(join(out, 'device.json'), 'utf8')), dir: out };
  }
  say('(each device got its own key pair and certificate, written to its directory)');
  await bulwark(['device', 'list', '--all']);

  step(`Add ${simulated} simulated devices in the hall (bulwark simulate)`);
  let simIds = [];
  let api;
  if (simulated === 0) {
    say('(--devices 0: none)');
  } else {
    const help = await bulwark(['simulate', '--help'], {
      echo: false,
      show: false,
      timeoutMs: 15_000,
    });
    if (help.code !== 0) {
      missing(
        '`bulwark simulate` (agent package)',
        (help.stderr || help.stdout).trim().split('\n')[0],
      );
    } else {
      const args = [
        'simulate',
        '--devices',
        String(simulated),
        '--hub',
        rt.url,
        '--ca',
        rt.caFile,
        '--mqtt',
        `mqtts://127.0.0.1:${rt.mqttPort}`,
        '--prefix',
        'sim',
      ];
      say(`$ bulwark ${args.join(' ')} &`);
      const sim = background(args, 'simulate');
      // It registers its devices (type `simulated`) and prints a summary once all are connected.
      const up = await until(90_000, () =>
        sim.exitCode !== null ? 'exited' : /devices connected/.test(sim.log) || undefined,
      );
      if (up !== true) {
        missing(
          'a working `bulwark simulate`',
          sim.log.trim().split('\n').slice(-3).join(' / ') || `not all connected within 90 s`,
        );
      } else {
        say(indent(sim.log.split('\n').find((l) => /devices connected/.test(l)) ?? '').trim());
        // The simulator registers devices without a place; put them in the hall, with the SDK
        // (the CLI's client, which trusts the hub's CA from runtime.json).
        const { connect, resolveConnection } = await import(
          new URL('../packages/cli/dist/src/index.js', import.meta.url).href
        );
        api = connect(resolveConnection({}, env, process.cwd()));
        const ids = [];
        for await (const d of api.devices.all({ type: 'simulated' })) ids.push(d.id);
        simIds = ids;
        say(
          `moving them into Hall 1 with the SDK: client.devices.update(id, { locationId, tags })`,
        );
        for (let k = 0; k < ids.length; k += 20) {
          await Promise.all(
            ids
              .slice(k, k + 20)
              .map((id) => api.devices.update(id, { locationId: hall.id, tags: ['line-1'] })),
          );
        }
        const inHall = await bulwarkJson(['device', 'list', '--location', hall.id, '--all'], {
          echo: false,
        });
        say(`${inHall.items.length} devices in Hall 1`);
      }
    }
  }

  step('Change a desired setting on every device in the hall at once');
  const changedAt = Date.now();
  await bulwark([
    'twin',
    'set',
    '--location',
    hall.id,
    'sampling.intervalSeconds=10',
    '--set',
    'logging.level=debug',
  ]);
  if (simIds.length > 0) {
    // How fast the fleet follows: poll the simulated devices' twins (with the SDK) until in sync.
    const synced = new Set();
    await until(30_000, async () => {
      const todo = simIds.filter((id) => !synced.has(id));
      for (let k = 0; k < todo.length; k += 25) {
        const twins = await Promise.all(todo.slice(k, k + 25).map((id) => api.twins.get(id)));
        for (const t of twins) if (t.inSync) synced.add(t.deviceId);
      }
      return synced.size === simIds.length;
    });
    say(
      `${synced.size} of ${simIds.length} simulated devices applied and reported it ` +
        `within ${((Date.now() - changedAt) / 1000).toFixed(1)} s (client.twins.get(id).inSync)`,
    );
  }
  say('dock-1 is outside the hall and keeps its settings:');
  await bulwark(['twin', 'get', devices['dock-1'].deviceId]);
  say('press-1 has the change pending (it has not connected yet):');
  await bulwark(['twin', 'get', devices['press-1'].deviceId]);

  const press1 = devices['press-1'];
  const localPort = await freePort();
  const config = join(press1.dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify(
      {
        hubUrl: rt.url,
        mqttUrl: `mqtts://127.0.0.1:${rt.mqttPort}`,
        caFile: rt.caFile,
        stateDir: join(press1.dir, 'state'),
        enrollment: { factoryIdentityDir: press1.dir },
        localPort: { enabled: true, host: '127.0.0.1', port: localPort },
        mdns: { enabled: false },
      },
      null,
      2,
    ),
  );
  mkdirSync(join(press1.dir, 'state'), { recursive: true, mode: 0o700 });
  const startAgent = () => {
    // In this process (no watchdog worker), so that killing it really cuts the device's link.
    say(`$ bulwark agent --config ${config} --no-watchdog &`);
    return background(['agent', '--config', config, '--no-watchdog'], 'agent');
  };
  const agentTrouble = (agent, fallback) =>
    agent.log.trim().split('\n').slice(-3).join(' / ') || fallback;

  step('press-1 comes online (bulwark agent) and applies the new settings of its hall');
  let agent = startAgent();
  const synced = await until(30_000, async () => {
    if (agent.exitCode !== null) return 'exited';
    return (await bulwarkJson(['twin', 'get', press1.deviceId], { echo: false })).inSync;
  });
  let agentWorks = synced === true;
  if (agentWorks) {
    await bulwark(['twin', 'get', press1.deviceId]);
    await bulwark(['device', 'presence', press1.deviceId]);
  } else {
    missing('a working `bulwark agent` (agent package)', agentTrouble(agent, 'no report in 30 s'));
  }

  step(
    'press-1 loses power: a controlled device gone opens an alert; a command sent now is queued',
  );
  if (agent.exitCode === null) {
    say('(killing its agent: the link drops without a goodbye)');
    agent.kill('SIGKILL');
    await until(10_000, () => agent.exitCode !== null || agent.signalCode !== null);
    await until(10_000, async () => {
      const p = await bulwarkJson(['device', 'presence', press1.deviceId], { echo: false });
      return !p.online;
    });
  }
  await bulwark(['device', 'presence', press1.deviceId]);
  if (agentWorks) {
    // The hub opens the alert as it notices the lost link; give it a moment.
    await until(5000, async () => {
      const page = await bulwarkJson(['alerts', 'list', '--state', 'open'], { echo: false });
      return page.items.length > 0;
    });
  }
  await bulwark(['alerts', 'list', '--state', 'open']);
  const cmd = await bulwarkJson(
    [
      'command',
      'send',
      press1.deviceId,
      'get-parameter',
      '--param',
      'path=sampling.intervalSeconds',
      '--timeout',
      '10m',
    ],
    { echo: true },
  );
  say(`command ${cmd.id} is ${cmd.state}`);
  await bulwark(['command', 'list', press1.deviceId]);

  step('press-1 is back: the queued command runs');
  if (!agentWorks) {
    missing('a working `bulwark agent` (agent package)', 'see the step before');
  } else {
    agent = startAgent();
    const done = await until(30_000, async () => {
      if (agent.exitCode !== null) return { exited: true };
      const c = await bulwarkJson(['command', 'get', cmd.id], { echo: false });
      return ['succeeded', 'failed', 'expired', 'canceled'].includes(c.state) ? c : undefined;
    });
    if (done === undefined || done.exited) {
      agentWorks = false;
      missing('a working `bulwark agent`', agentTrouble(agent, 'the command did not run in 30 s'));
    } else {
      await bulwark(['command', 'get', cmd.id]);
      say('and its alert is resolved:');
      await bulwark(['alerts', 'list']);
    }
  }

  step("Open a ticketed session on press-1's local TLS port with openssl");
  const openssl = await run('openssl', ['version'], { echo: false, show: false });
  if (openssl.code !== 0) {
    missing('openssl on PATH');
  } else if (!agentWorks) {
    missing('the running agent from the step before (its local port)');
  } else if (!(await until(10_000, () => listening(localPort)))) {
    missing(
      "the agent's local TLS port",
      `nothing listens on 127.0.0.1:${localPort} (localPort in ${config}) after 10 s`,
    );
  } else {
    const t = await bulwark(
      ['ticket', 'issue', press1.deviceId, '--perm', 'read', '--ttl', '5m', '--json'],
      { show: false },
    );
    if (t.code !== 0) {
      missing('`bulwark ticket issue` (tickets)', t.stderr.trim().split('\n')[0]);
    } else {
      const { ticket } = JSON.parse(t.stdout);
      say(`ticket issued (one use, 5 minutes): ${ticket.slice(0, 24)}…`);
      const session = await run(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${localPort}`,
          '-quiet',
          '-verify_return_error',
          '-CAfile',
          join(press1.dir, 'ca.pem'),
        ],
        {
          input: `ticket ${ticket}\nget sampling.intervalSeconds\nlist logging\nset logging.level "info"\nquit\n`,
          timeoutMs: 20_000,
          show: false,
        },
      );
      console.log(indent(session.stdout || session.stderr));
      say('the same ticket again is refused (one use):');
      const again = await run(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${localPort}`,
          '-quiet',
          '-verify_return_error',
          '-CAfile',
          join(press1.dir, 'ca.pem'),
        ],
        { input: `ticket ${ticket}\nquit\n`, timeoutMs: 20_000, show: false },
      );
      console.log(indent(again.stdout || again.stderr));
    }
  }

  step('The audit trail of all this');
  await bulwark(['audit', 'list', '--limit', '15']);
  return { hub };
}

let code = 0;
try {
  await tour();
} catch (err) {
  console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
}
if (opts.keep && code === 0) {
  console.log(`\nThe hub keeps running (Ctrl-C to stop). Try, in another shell:`);
  console.log(`  export BULWARK_DATA_DIR=${dataDir} BULWARK_API_KEY=${env.BULWARK_API_KEY}`);
  console.log('  node packages/cli/bin/bulwark.js device list');
  clearTimeout(limit);
  const stop = () => void stopAll().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
  clearTimeout(limit);
  console.log(code === 0 ? '\ndemo: done (hub stopped, temp data removed)' : '');
  process.exitCode = code;
}
