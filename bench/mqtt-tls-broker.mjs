// Child process for bench/mqtt-mtls.mjs: the Bulwark MQTT engine behind a mutual-TLS listener.
// argv[2] is JSON { ca, cert, key } (file paths). Sends {port} once listening; answers
// {cmd:'mem'} over IPC with its memory figures (after a full GC when run with --expose-gc).
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import {
  createMqttEngine,
  listenTls,
  openModeHooks,
} from '../packages/transport/dist/src/mqtt/index.js';

process.on('disconnect', () => process.exit(1));
const files = JSON.parse(process.argv[2]);
const engine = createMqttEngine({
  hooks: openModeHooks(),
  // 2,000 connections from one address; nothing is published.
  limits: { maxConnectionsPerAddress: 0, maxMessagesPerSecond: 0 },
});
const server = await listenTls(engine, {
  port: 0,
  host: '127.0.0.1',
  key: readFileSync(files.key),
  cert: readFileSync(files.cert),
  ca: readFileSync(files.ca),
  requestCert: true,
  rejectUnauthorized: true,
});
let tlsErrors = 0;
server.on('tlsClientError', () => tlsErrors++);
process.send?.({ port: server.address().port });
process.on('message', (m) => {
  if (m?.cmd === 'mem') {
    globalThis.gc?.();
    const u = process.memoryUsage();
    const space = (n) => v8.getHeapSpaceStatistics().find((s) => s.space_name === n);
    process.send?.({
      newSpace: space('new_space')?.space_size ?? NaN,
      oldSpace: space('old_space')?.space_size ?? NaN,
      rss: u.rss,
      heapTotal: u.heapTotal,
      heapUsed: u.heapUsed,
      external: u.external,
      arrayBuffers: u.arrayBuffers,
      connections: engine.stats().connections,
      tlsErrors,
    });
  } else if (m?.cmd === 'snapshot') {
    globalThis.gc?.();
    process.send?.({ snapshot: v8.writeHeapSnapshot(m.path) });
  } else if (m?.cmd === 'stop') {
    server.close();
    void engine.close().then(() => process.exit(0));
  }
});
