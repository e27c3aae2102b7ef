/**
 * `bulwark simulate --devices N`: runs N virtual devices (the real agent code) in this process
 * against a hub, and prints how many are connected and how long it took. `--type` and
 * `--firmware-version` make the fleet a target for rollouts and auto-upgrade. Uses `BULWARK_HUB`,
 * `BULWARK_API_KEY` and `BULWARK_CA` like the other remote commands.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const USAGE = `usage: bulwark simulate --devices N [options]
  --hub URL             hub origin (default $BULWARK_HUB)
  --api-key KEY         API key with devices:manage (default $BULWARK_API_KEY)
  --ca FILE             CA bundle of the hub (default $BULWARK_CA)
  --mqtt URL            mqtts://host:port (default: the hub's host, port 8883)
  --claim-file FILE     a provisioning claim token (decision 0027): no API key needed; the
                        devices share it and each claims its own identity, hardware ids
                        P-hw-0001…, as a production batch would (--type must be the claim's)
  --token-file FILE     one-time enrollment tokens, one a line, of devices already registered
                        (in the console or by bulwark devices create): no API key
                        needed; each device enrolls with its token (--devices defaults to
                        their number and must equal it)
  --prefix P            device names P-0001… (default sim)
  --type T              the devices' registered type (default simulated): rollouts and
                        auto-upgrade select devices by it, artifacts must list it
  --firmware-version V  the version the devices report running (default 1.0.0): a rollout
                        or auto-upgrade offers them only a newer one
  --channel ID          also publish telemetry to this channel
  --telemetry-seconds S interval of that telemetry (default 10)
  --log-lines-per-minute N  each device ships its agent log and N synthetic log lines a
                        minute (central device logs; default 0: no logs shipped)
  --attack KIND[:COUNT] make COUNT devices (default 1, taken from the end of the fleet)
                        misbehave; repeatable. KIND: password-guess, cloned-cert, flood
                        (needs --channel), backdoor-port, c2-connection, unpatched
                        (decision 0037). Each start and end is printed as a JSON line
                        {"event":"attack_started","attack","device","deviceId","startedAt"}
  --attack-after S      seconds after the fleet is connected before the attacks begin
                        (default 30), so baselines can learn
  --duration S          stop after S seconds (default: until Ctrl-C)
  --json                print the summary as JSON
`;

/** A registered device type, as the hub's device schema allows it. */
const DEVICE_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Runs `bulwark simulate` with argv after the command name; returns the exit code. */
export async function simulateCommand(argv: string[]): Promise<number> {
  let v: Record<string, string | boolean | string[] | undefined>;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        devices: { type: 'string' },
        hub: { type: 'string' },
        'api-key': { type: 'string' },
        'claim-file': { type: 'string' },
        'token-file': { type: 'string' },
        ca: { type: 'string' },
        mqtt: { type: 'string' },
        prefix: { type: 'string' },
        type: { type: 'string' },
        'firmware-version': { type: 'string' },
        channel: { type: 'string' },
        'telemetry-seconds': { type: 'string' },
        'log-lines-per-minute': { type: 'string' },
        duration: { type: 'string' },
        attack: { type: 'string', multiple: true },
        'attack-after': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v['help']) {
    process.stdout.write(USAGE);
    return 0;
  }
  const fail = (msg: string) => {
    process.stderr.write(`error: ${msg}\n${USAGE}`);
    return 2;
  };
  const tokenFile = v['token-file'] as string | undefined;
  // Enrollment tokens are secrets: read from a file, never taken on the command line.
  const tokens =
    tokenFile === undefined
      ? undefined
      : (await readFile(tokenFile, 'utf8'))
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '');
  if (tokens !== undefined && tokens.length === 0) return fail(`${tokenFile} holds no token`);
  const devices = Number(v['devices'] ?? tokens?.length);
  // 100,000 is far past what one process holds; the bound catches a typo, not a capacity limit.
  if (!Number.isInteger(devices) || devices < 1 || devices > 100_000)
    return fail('--devices must be a whole number from 1 to 100000');
  const hub = (v['hub'] as string | undefined) ?? process.env['BULWARK_HUB'];
  const apiKey = (v['api-key'] as string | undefined) ?? process.env['BULWARK_API_KEY'];
  const caFile = (v['ca'] as string | undefined) ?? process.env['BULWARK_CA'];
  if (!hub) return fail('--hub or BULWARK_HUB is required');
  const claimFile = v['claim-file'] as string | undefined;
  if (claimFile !== undefined && tokens !== undefined)
    return fail('--claim-file and --token-file do not go together');
  if (tokens !== undefined && tokens.length !== devices)
    return fail(`--token-file holds ${tokens.length} tokens; --devices is ${devices}`);
  if (!apiKey && claimFile === undefined && tokens === undefined)
    return fail('--api-key or BULWARK_API_KEY is required (or --claim-file, or --token-file)');
  if (!caFile) return fail('--ca or BULWARK_CA is required');
  let hubUrl: URL;
  try {
    hubUrl = new URL(hub);
  } catch {
    return fail(`--hub ${hub} is not a URL`);
  }
  const mqttUrl = (v['mqtt'] as string | undefined) ?? `mqtts://${hubUrl.hostname}:8883`;
  const telemetrySeconds = Number(v['telemetry-seconds'] ?? 10);
  const duration = v['duration'] === undefined ? undefined : Number(v['duration']);
  if (!(telemetrySeconds > 0)) return fail('--telemetry-seconds must be positive');
  const logLines = Number(v['log-lines-per-minute'] ?? 0);
  // 6,000 a minute (100/s) per device is the agent's default rate limit: more is only suppressed.
  if (!Number.isInteger(logLines) || logLines < 0 || logLines > 6000)
    return fail('--log-lines-per-minute must be a whole number from 0 to 6000');
  if (duration !== undefined && !(duration > 0)) return fail('--duration must be positive');
  const deviceType = (v['type'] as string | undefined) ?? 'simulated';
  const firmwareVersion = (v['firmware-version'] as string | undefined) ?? '1.0.0';
  // The hub's device schema (protocol api/devices.ts); checked here so a typo fails before any
  // device is registered.
  if (!DEVICE_TYPE.test(deviceType))
    return fail(
      `--type ${JSON.stringify(deviceType)} is not a device type (letters, digits, . _ -; at most 64)`,
    );
  if (firmwareVersion.trim() === '' || firmwareVersion.length > 64)
    return fail('--firmware-version must be 1 to 64 characters');
  const { parseAttackSpec } = await import('../sim/attacks.js');
  let attacks;
  try {
    attacks = ((v['attack'] as string[] | undefined) ?? []).map(parseAttackSpec);
  } catch (err) {
    return fail((err as Error).message);
  }
  const attackAfter = Number(v['attack-after'] ?? 30);
  if (!Number.isFinite(attackAfter) || attackAfter < 0 || attackAfter > 86_400)
    return fail('--attack-after must be a number of seconds from 0 to 86400');
  const attacking = attacks.reduce((n, a) => n + a.count, 0);
  if (attacking > devices)
    return fail(`the attacks need ${attacking} devices; --devices is ${devices}`);
  if (attacks.some((a) => a.kind === 'flood') && !v['channel'])
    return fail('the flood attack needs --channel (the channel it floods)');
  const ca = await readFile(caFile, 'utf8');
  // The claim token is a secret: read from a file, never taken on the command line.
  const claim = claimFile === undefined ? undefined : (await readFile(claimFile, 'utf8')).trim();
  const { Simulator } = await import('../sim/simulator.js');
  const log = (msg: string) => process.stderr.write(`simulate: ${msg}\n`);
  const sim = new Simulator({
    hubUrl: hub,
    mqttUrl,
    ca,
    ...(tokens !== undefined
      ? { tokens }
      : claim !== undefined
        ? { claim }
        : apiKey
          ? { apiKey }
          : {}),
    devices,
    deviceType,
    firmwareVersion,
    ...(v['prefix'] ? { prefix: v['prefix'] as string } : {}),
    ...(v['channel']
      ? { telemetry: { channelId: v['channel'] as string, intervalMs: telemetrySeconds * 1000 } }
      : {}),
    ...(logLines > 0 ? { logLinesPerMinute: logLines } : {}),
    attacks,
    attackAfterMs: attackAfter * 1000,
    onAttack: (e) => process.stdout.write(`${JSON.stringify(e)}\n`),
    log,
  });
  const t0 = Date.now();
  let stopping = false;
  const waiting = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      stopping = true;
      waiting.abort();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (duration !== undefined) setTimeout(stop, duration * 1000).unref();
  });
  try {
    await sim.start();
    const ms = await Promise.race([
      sim.waitConnected(devices, 600_000, (n) => log(`connected ${n}/${devices}`), waiting.signal),
      stopped.then(() => -1),
    ]);
    const summary = {
      devices,
      connected: sim.connected(),
      connectSeconds: ms < 0 ? null : Math.round((Date.now() - t0) / 100) / 10,
      rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    };
    if (v['json']) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      process.stdout.write(
        `${summary.connected}/${devices} devices connected` +
          (summary.connectSeconds === null ? '' : ` in ${summary.connectSeconds} s`) +
          ` (RSS ${summary.rssMiB} MiB)\n`,
      );
    if (ms >= 0)
      sim.startAttacks().catch((err: unknown) => log(`attacks: ${(err as Error).message}`));
    // Watch reconnects (e.g. after a hub restart) until asked to stop.
    let down = 0;
    let downSince = 0;
    while (!stopping) {
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 200))]);
      const n = sim.connected();
      if (n < devices && down === 0) {
        down = devices - n;
        downSince = Date.now();
      } else if (n === devices && down > 0) {
        log(
          `all ${devices} reconnected ${((Date.now() - downSince) / 1000).toFixed(1)} s after the first loss`,
        );
        down = 0;
      }
    }
    return 0;
  } finally {
    await sim.stop();
  }
}
