/**
 * Debian's python3-paho-mqtt (1.6.x) as a real third-party client: the test writes a small script
 * to a temp dir and runs it with /usr/bin/python3 (the python3 on PATH may be another one without
 * paho). Paho 1.6 does not hand PUBACK/PUBREC reason codes to the application, so the script
 * records them as its network thread reads them; it reports whether that thread is still alive
 * (an AssertionError there is how paho broke on a disallowed code: the application hung).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's interpreter, where python3-paho-mqtt installs. */
export const PYTHON = '/usr/bin/python3';

/** True when /usr/bin/python3 can import paho.mqtt. */
export function havePaho(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import paho.mqtt.client']);
  return r.error === undefined && r.status === 0;
}

/** What the script saw for one publish. */
export interface PahoPublish {
  payload: string;
  qos: number;
  /** The exchange finished (on_publish fired) within the timeout. */
  acked: boolean;
  /** The PUBACK/PUBREC reason code (0 when the packet had none). */
  code: number | null;
  reasonString: string | null;
}

/** The script's report. */
export interface PahoReport {
  results: PahoPublish[];
  connected: boolean;
  networkThreadAlive: boolean;
  disconnects: string[];
}

const SCRIPT = String.raw`
import json, struct, sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

port, topic, cases = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
acks = {}

def record(self):
    pkt = self._in_packet['packet']
    mid = struct.unpack('!H', pkt[:2])[0]
    code = pkt[2] if len(pkt) > 2 else 0
    reason = None
    if len(pkt) > 3:
        try:
            props, _ = Properties(PacketTypes.PUBACK).unpack(pkt[3:])
            reason = getattr(props, 'ReasonString', None)
        except Exception:
            pass
    acks[mid] = (code, reason)

orig_ack, orig_rec = mqtt.Client._handle_pubackcomp, mqtt.Client._handle_pubrec
def handle_ack(self, cmd):
    if cmd == 'PUBACK':
        record(self)
    return orig_ack(self, cmd)
def handle_rec(self):
    record(self)
    return orig_rec(self)
mqtt.Client._handle_pubackcomp, mqtt.Client._handle_pubrec = handle_ack, handle_rec

connected, disconnects = threading.Event(), []
c = mqtt.Client(client_id='paho-interop', protocol=mqtt.MQTTv5)
c.on_connect = lambda client, userdata, flags, rc, props=None: connected.set()
c.on_disconnect = lambda client, userdata, rc, props=None: disconnects.append(str(rc))
c.connect('127.0.0.1', port, keepalive=30)
c.loop_start()
if not connected.wait(5):
    print(json.dumps({'error': 'no CONNACK'}))
    sys.exit(2)
results = []
for payload, qos in cases:
    info = c.publish(topic, payload, qos=qos)
    try:
        info.wait_for_publish(timeout=3)
    except (ValueError, RuntimeError):
        pass
    ack = acks.get(info.mid)
    results.append({'payload': payload, 'qos': qos, 'acked': info.is_published(),
                    'code': None if ack is None else ack[0],
                    'reasonString': None if ack is None else ack[1]})
    if not info.is_published():
        break
report = {'results': results, 'connected': c.is_connected(),
          'networkThreadAlive': c._thread is not None and c._thread.is_alive(),
          'disconnects': list(disconnects)}
c.disconnect()
c.loop_stop()
print(json.dumps(report))
`;

/** Publish each `[payload, qos]` in order on one paho connection and report what came back. */
export async function pahoPublish(
  port: number,
  topic: string,
  cases: Array<[string, 1 | 2]>,
): Promise<PahoReport> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-paho-'));
  try {
    const script = join(dir, 'publish.py');
    writeFileSync(script, SCRIPT);
    const { stdout } = await run(PYTHON, [script, String(port), topic, JSON.stringify(cases)], {
      timeout: 60_000,
    });
    return JSON.parse(stdout) as PahoReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
