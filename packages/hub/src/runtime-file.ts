import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `DIR/runtime.json` tells scripts and tests about a running hub. */
export interface RuntimeInfo {
  pid: number;
  version: string;
  startedAt: string;
  /** Base URL of the HTTPS API (loopback, for local tools). */
  url: string;
  httpPort: number;
  /** MQTT over TLS (devices: client certificate or device key). */
  mqttPort: number;
  /** The open-mode plain-TCP MQTT listener, when the operator asked for one. */
  mqttOpenPort: number | null;
  /** CoAP (UDP) when enabled. */
  coapPort: number | null;
  /** The LwM2M server's UDP port, when enabled. */
  lwm2mPort?: number | null;
  /** LwM2M over DTLS with pre-shared keys, when enabled. */
  lwm2msPort?: number | null;
  /** CoAP over DTLS (decision 0041), null when off. */
  coapsPort: number | null;
  /** This hub process's id on the bus. */
  nodeId: string;
  /** PEM bundle to trust for the hub's TLS server certificate. */
  caFile: string;
  dataDir: string;
  storage: string;
}

/** Writes runtime.json atomically (temp file + rename), so readers never see half a file. */
export function writeRuntimeFile(dataDir: string, info: RuntimeInfo): string {
  const path = join(dataDir, 'runtime.json');
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

/** Removes runtime.json (on a clean shutdown). */
export function removeRuntimeFile(dataDir: string): void {
  rmSync(join(dataDir, 'runtime.json'), { force: true });
}
