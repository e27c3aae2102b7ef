/**
 * Simulated attacks (decision 0037): some devices of a simulated fleet misbehave so that the hub's
 * security monitoring can be shown to see them. What travels to the hub is real (refused MQTT
 * connects, a second TLS session with the device's own certificate from another loopback address,
 * a flood of real messages); what would be dangerous is only reported (a listening port, a
 * connection to an outside address): the device's synthetic socket list says so, nothing listens
 * and nothing connects anywhere but loopback.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { SimDevice } from './simulator.js';

/** The attack kinds, as `--attack KIND[:COUNT]` names them. */
export const ATTACK_KINDS = [
  'password-guess',
  'cloned-cert',
  'flood',
  'backdoor-port',
  'c2-connection',
  'unpatched',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

/** `COUNT` devices doing attack `kind`. */
export interface AttackSpec {
  kind: AttackKind;
  count: number;
}

/** Parses `KIND[:COUNT]` (COUNT 1 to 1000, default 1); throws a message naming the problem. */
export function parseAttackSpec(text: string): AttackSpec {
  const [kind, count, extra] = text.split(':');
  if (!ATTACK_KINDS.includes(kind as AttackKind) || extra !== undefined)
    throw new Error(
      `--attack ${JSON.stringify(text)}: the kind must be one of ${ATTACK_KINDS.join(', ')}, optionally :COUNT`,
    );
  const n = count === undefined ? 1 : Number(count);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new Error(
      `--attack ${JSON.stringify(text)}: COUNT must be a whole number from 1 to 1000`,
    );
  return { kind: kind as AttackKind, count: n };
}

/** How hard each attack hits; every loop is bounded by these. */
export interface AttackTuning {
  /** password-guess: refused connects (default 20), this far apart (default 100 ms). */
  guesses: number;
  guessIntervalMs: number;
  /** password-guess: the loopback address the guesses come from (default 127.0.0.3). */
  guessAddress: string;
  /** cloned-cert: the clone's loopback address (default 127.0.0.2) and how long it fights (10 s). */
  cloneAddress: string;
  cloneHoldMs: number;
  /** flood: messages (default 1000) at this rate (default 200/s) on the telemetry channel. */
  floodMessages: number;
  floodPerSecond: number;
  /** backdoor-port: the port reported listening (default 4444). */
  backdoorPort: number;
  /** c2-connection: the outside address reported connected (default 203.0.113.66:443). */
  c2Address: string;
  c2Port: number;
  /** unpatched: the old firmware version the device runs from boot (default 0.9.0). */
  unpatchedVersion: string;
}

export const DEFAULT_TUNING: AttackTuning = {
  guesses: 20,
  guessIntervalMs: 100,
  guessAddress: '127.0.0.3',
  cloneAddress: '127.0.0.2',
  cloneHoldMs: 10_000,
  floodMessages: 1000,
  floodPerSecond: 200,
  backdoorPort: 4444,
  c2Address: '203.0.113.66',
  c2Port: 443,
  unpatchedVersion: '0.9.0',
};

/** Printed (as one JSON line) when an attack begins; a benchmark measures latency from `startedAt`. */
export interface AttackStarted {
  event: 'attack_started';
  attack: AttackKind;
  device: string;
  deviceId: string;
  startedAt: string;
}

/** Printed when an attack's bounded activity is over (backdoor, C2 and old version stay). */
export interface AttackEnded {
  event: 'attack_ended';
  attack: AttackKind;
  device: string;
  deviceId: string;
  endedAt: string;
  result: Record<string, number | string>;
}

/** What one attack needs. */
export interface AttackContext {
  device: SimDevice;
  mqttUrl: string;
  /** The hub CA the simulator was given. */
  ca: string;
  /** The channel the device may publish to (flood). */
  channelId?: string;
  tuning: AttackTuning;
  signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One MQTT connect that resolves to true once accepted, false when refused or failed. Never
 * reconnects. An accepted client is left open for the caller (`client`); a refused one is closed.
 */
function connectOnce(
  url: string,
  opts: mqtt.IClientOptions,
): Promise<{ ok: boolean; client: mqtt.MqttClient }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      ...opts,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 5,
      clean: true,
    });
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (!ok) {
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.end(true);
      }
      resolve({ ok, client });
    };
    client.once('connect', () => settle(true));
    client.on('error', () => settle(false));
    client.once('close', () => settle(false));
  });
}

function tlsOptions(ctx: AttackContext, localAddress: string) {
  const m = ctx.device.agent.identity;
  return {
    ca: m ? [ctx.ca, m.hubCa] : [ctx.ca],
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2' as const,
    localAddress,
  };
}

/** Wrong device keys for this device, from one source: each connect is refused. */
async function passwordGuess(ctx: AttackContext) {
  const { tuning: t, device } = ctx;
  let attempts = 0;
  let refused = 0;
  while (attempts < t.guesses && !ctx.signal.aborted) {
    if (attempts > 0) await sleep(t.guessIntervalMs, ctx.signal);
    attempts++;
    const r = await connectOnce(ctx.mqttUrl, {
      ...tlsOptions(ctx, t.guessAddress),
      clientId: device.deviceId,
      username: device.deviceId,
      password: `bwd_${randomBytes(24).toString('base64url')}`,
    });
    if (r.ok) r.client.end(true);
    else refused++;
  }
  return { attempts, refused, source: t.guessAddress };
}

/**
 * The device's own certificate and key from a second address: each session the clone opens takes
 * the device's over, the real agent reconnects and takes it back, and the clone comes back until
 * `cloneHoldMs` is over.
 */
async function clonedCert(ctx: AttackContext) {
  const { tuning: t, device } = ctx;
  const m = device.agent.identity;
  if (!m) throw new Error(`${device.name} has no identity to clone`);
  const until = Date.now() + t.cloneHoldMs;
  let sessions = 0;
  let refused = 0;
  while (Date.now() < until && !ctx.signal.aborted) {
    const r = await connectOnce(ctx.mqttUrl, {
      ...tlsOptions(ctx, t.cloneAddress),
      key: m.keyPem,
      cert: m.certPem + (m.chain[0] ?? ''),
      clientId: device.deviceId,
    });
    if (r.ok) {
      sessions++;
      // Held until cut (the real device takes its session back) or the time is up.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, until - Date.now()));
        ctx.signal.addEventListener('abort', done, { once: true });
        r.client.once('close', done);
      });
      r.client.removeAllListeners();
      r.client.on('error', () => undefined);
      r.client.end(true);
    } else refused++;
    await sleep(Math.min(1000, Math.max(0, until - Date.now())), ctx.signal);
  }
  return { sessions, refused, source: t.cloneAddress };
}

/** `floodMessages` real messages at `floodPerSecond` on the device's telemetry channel. */
async function flood(ctx: AttackContext) {
  const { tuning: t, device } = ctx;
  const channelId = ctx.channelId;
  if (channelId === undefined) throw new Error('the flood attack needs a telemetry channel');
  const t0 = Date.now();
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((t.floodPerSecond * tickMs) / 1000));
  let sent = 0;
  let refused = 0;
  while (sent + refused < t.floodMessages && !ctx.signal.aborted) {
    const batch = Math.min(perTick, t.floodMessages - sent - refused);
    const results = await Promise.allSettled(
      Array.from({ length: batch }, (_, i) =>
        device.agent.publish(
          channelId,
          'sim',
          JSON.stringify([{ n: 'temperature', u: 'Cel', v: 20 + ((sent + i) % 10) / 10 }]),
          'application/senml+json',
        ),
      ),
    );
    for (const r of results)
      if (r.status === 'fulfilled') sent++;
      else refused++;
    // Paced against the clock, so a slow publish does not stretch the flood's rate down.
    const due = t0 + ((sent + refused) / t.floodPerSecond) * 1000;
    await sleep(Math.max(0, due - Date.now()), ctx.signal);
  }
  return { sent, refused, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}

/** The device reports a new listening port (nothing listens: the socket list says so). */
async function backdoorPort(ctx: AttackContext) {
  const { tuning: t, device } = ctx;
  device.system.socketList.push({
    state: 'listen',
    localAddress: '0.0.0.0',
    localPort: t.backdoorPort,
    remoteAddress: '0.0.0.0',
    remotePort: 0,
  });
  await device.agent.sampleHealthNow();
  return { port: t.backdoorPort };
}

/** The device reports an established connection outside its allowlist (never made). */
async function c2Connection(ctx: AttackContext) {
  const { tuning: t, device } = ctx;
  device.system.socketList.push({
    state: 'established',
    localAddress: '192.0.2.50',
    localPort: 49_152 + (device.deviceId.charCodeAt(device.deviceId.length - 1) % 1000),
    remoteAddress: t.c2Address,
    remotePort: t.c2Port,
  });
  await device.agent.sampleHealthNow();
  return { remote: `${t.c2Address}:${t.c2Port}` };
}

/** Runs one attack of `kind` on `ctx.device`; resolves with what it did. */
export async function runAttack(
  kind: AttackKind,
  ctx: AttackContext,
): Promise<Record<string, number | string>> {
  switch (kind) {
    case 'password-guess':
      return passwordGuess(ctx);
    case 'cloned-cert':
      return clonedCert(ctx);
    case 'flood':
      return flood(ctx);
    case 'backdoor-port':
      return backdoorPort(ctx);
    case 'c2-connection':
      return c2Connection(ctx);
    case 'unpatched':
      // The device has run the old version since boot (the simulator configured it so); the
      // attack's start is when an operator may mark that version vulnerable.
      return { version: ctx.tuning.unpatchedVersion };
  }
}
