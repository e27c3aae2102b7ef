// Child process for bench/mqtt.mjs: the Bulwark MQTT engine on a plain-TCP open-mode listener.
// Prints {"port": N} once listening; answers {cmd:'mem'} over IPC with its memory figures.
import {
  createMqttEngine,
  listenTcp,
  openModeHooks,
} from '../packages/transport/dist/src/mqtt/index.js';

process.on('disconnect', () => process.exit(1));
const engine = createMqttEngine({
  hooks: openModeHooks(),
  // Benchmarks open thousands of connections from one address and publish at full speed.
  limits: { maxConnectionsPerAddress: 0, maxMessagesPerSecond: 0 },
});
const server = await listenTcp(engine, { port: 0, host: '127.0.0.1' });
process.send?.({ port: server.address().port });
process.on('message', (m) => {
  if (m?.cmd === 'mem') {
    globalThis.gc?.();
    const u = process.memoryUsage();
    process.send?.({
      rss: u.rss,
      heapUsed: u.heapUsed,
      external: u.external,
      stats: engine.stats(),
    });
  } else if (m?.cmd === 'stop') {
    void engine.close().then(() => process.exit(0));
  }
});
