/**
 * A site device for the namespace test, run inside the site namespace: connects to the gateway
 * (argv[2] is JSON: port, brokerCa, device TLS material, channel, count, pauseMs), publishes
 * `count` QoS 1 messages `n0 … n{count-1}` one after another, prints `done N` and exits.
 */
import mqtt from 'mqtt';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  port: number;
  brokerCa: string;
  deviceId: string;
  keyPem: string;
  certPem: string;
  chain: string[];
  channelId: string;
  count: number;
  pauseMs: number;
};
const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${o.port}`, {
  clientId: o.deviceId,
  key: o.keyPem,
  cert: o.certPem + (o.chain[0] ?? ''),
  ca: o.brokerCa,
  protocolVersion: 5,
  reconnectPeriod: 0,
});
let n = 0;
for (; n < o.count; n++) {
  await c.publishAsync(`channels/${o.channelId}/messages/ns`, `n${n}`, { qos: 1 });
  if (n % 20 === 0) process.stdout.write(`acked ${n + 1}\n`);
  await new Promise((r) => setTimeout(r, o.pauseMs));
}
await c.endAsync();
process.stdout.write(`done ${n}\n`);
process.exit(0);
