/**
 * A real hub for the CLI's management tests: the `bulwark hub` process on a temp data dir (the CLI
 * may not import the hub package), its owner and API key made with the local admin commands, and
 * `run()` calling the CLI's `main()` in this process with captured output.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { main } from '@bulwark/cli';
import { captureIo } from './helpers.js';

const execFileAsync = promisify(execFile);
const BIN = new URL('../../bin/bulwark.js', import.meta.url).pathname;

/** What the hub wrote to runtime.json (the fields the tests use). */
export interface Runtime {
  url: string;
  httpPort: number;
  mqttPort: number;
  caFile: string;
}

/** A running hub process with an owner and an API key. */
export interface ManagedHub {
  dataDir: string;
  runtime: Runtime;
  /** The CA bundle's PEM text (to trust the hub's TLS listeners). */
  ca: string;
  apiKey: string;
  /** The env a CLI invocation gets: the data dir (for runtime.json) and the API key. */
  env: Record<string, string>;
  /** Runs `bulwark ARGV…` in this process and returns its exit code and output. */
  run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Runs `bulwark ARGV… --json`, asserting exit 0, and returns the parsed output. */
  json<T = unknown>(argv: string[]): Promise<T>;
  close(): Promise<void>;
}

/** Runs a local command (`admin …`) through the real binary, without blocking this process. */
async function local(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await execFileAsync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return r.stdout;
}

/** Starts a hub process and waits (bounded) for its runtime.json; makes the owner and an API key. */
export async function startHub(): Promise<ManagedHub> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-mgmt-'));
  const dataDir = join(dir, 'data');
  const hub: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
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
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  hub.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  hub.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const runtimeFile = join(dataDir, 'runtime.json');
  // Should this process die before `close()`, the hub goes with it rather than lingering.
  const killHub = (): void => void hub.kill('SIGKILL');
  process.once('exit', killHub);
  const stop = async (): Promise<void> => {
    process.off('exit', killHub);
    if (hub.exitCode === null && hub.signalCode === null) {
      const exited = once(hub, 'exit');
      hub.kill('SIGTERM');
      const timer = setTimeout(() => hub.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The hub writes runtime.json once it listens; poll for it, 30 s at most.
    for (let i = 0; i < 300 && !existsSync(runtimeFile) && hub.exitCode === null; i++) {
      await sleep(100);
    }
    if (!existsSync(runtimeFile)) throw new Error(`the hub did not start:\n${log}`);
    const runtime = JSON.parse(readFileSync(runtimeFile, 'utf8')) as Runtime;
    await local(
      [
        'admin',
        'create-owner',
        '--data-dir',
        dataDir,
        '--email',
        'owner@example.com',
        '--organization',
        'Acme',
      ],
      { BULWARK_PASSWORD: 'a long and unguessable passphrase' },
    );
    const apiKey = (await local(['admin', 'api-key', '--data-dir', dataDir, '--name', 'tests']))
      .trim()
      .split('\n')
      .pop()!;
    const env = { BULWARK_DATA_DIR: dataDir, BULWARK_API_KEY: apiKey };
    const run = async (argv: string[]) => {
      const c = captureIo(env);
      const code = await main(argv, c.io);
      return { code, stdout: c.stdout, stderr: c.stderr };
    };
    return {
      dataDir,
      runtime,
      ca: readFileSync(runtime.caFile, 'utf8'),
      apiKey,
      env,
      run,
      json: async <T>(argv: string[]): Promise<T> => {
        const r = await run([...argv, '--json']);
        if (r.code !== 0) {
          throw new Error(`bulwark ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
        }
        return JSON.parse(r.stdout) as T;
      },
      close: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A device's MQTT 5 session on the hub, authenticated with its device key (no reconnects). */
export async function connectWithKey(
  hub: ManagedHub,
  id: string,
  key: string,
): Promise<MqttClient> {
  const client = mqtt.connect(`mqtts://127.0.0.1:${hub.runtime.mqttPort}`, {
    ca: hub.ca,
    clientId: id,
    username: id,
    password: key,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}
