// `node bench/ingest-micro.mjs [TREE]`: CPU per message of the hub's ingest hot path in one
// process: the hub's MQTT hooks (authorizePublish + onPublish) → instrumented
// MessagingService.ingest → BatchWriter (a store that packs, clones and unpacks each batch as the
// SQLite writer thread's hand-over does) → memory bus. No sockets, no SQLite: an A/B gauge for the
// JavaScript per message. TREE: another built checkout's root (default this one). Median of 7
// rounds of 20,000 messages from 1,000 devices.
const dir = process.argv[2] ?? new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const imp = (p) => import(`${dir}/packages/${p}`);
const core = await imp('core/dist/src/index.js');
const { hubMqttHooks } = await imp('transport/dist/src/messaging/index.js');
const { instrument } = await imp('hub/dist/src/instrument.js');
const { createMetrics } = await imp('hub/dist/src/metrics.js');
const senml = await imp('senml/dist/src/index.js');
const wb = await imp('store-sqlite/dist/src/writer-batch.js');
const CID = '0190a0b0-0000-7000-8000-000000000001';
const channel = {
  id: CID,
  orgId: 'o1',
  name: 'c',
  persisted: true,
  retentionDays: null,
  contentType: null,
  createdAt: 0,
};
const storage = {
  channels: {
    get: async () => channel,
    getConnection: async () => ({
      orgId: 'o1',
      channelId: CID,
      clientType: 'device',
      clientId: 'd',
      publish: true,
      subscribe: true,
    }),
  },
  messages: {
    appendBatch: async (es) => {
      wb.unpackBatch(structuredClone(wb.packBatch(es)));
    },
  },
};
const bus = core.createMemoryBus();
bus.subscribe?.(() => undefined);
const metrics = createMetrics();
const svc = new core.MessagingService({
  storage,
  clock: core.systemClock,
  bus,
  nodeId: 'n1',
  normalize: (ct, p, now) =>
    senml.isSenmlContentType(ct) ? senml.parseSenml(ct, p, { now }) : undefined,
  config: core.DEFAULT_MESSAGING_CONFIG,
  onIngest: (protocol, outcome) =>
    outcome === 'accepted' ? metrics.messagesIn.inc([protocol]) : undefined,
});
const messaging = instrument('messaging', svc, metrics.observeCalls);
const hooks = hubMqttHooks({
  admission: {
    admit: async () => {
      throw new Error('no');
    },
  },
  messaging,
});
const topic = `channels/${CID}/messages/bench`;
const clients = Array.from({ length: 1000 }, (_, i) => ({
  id: `k${i}`,
  principal: {
    type: 'device',
    id: `d${i}`,
    orgId: 'o1',
    principal: {
      type: 'device',
      id: `d${i}`,
      orgId: 'o1',
      state: 'active',
      credential: { kind: 'certificate' },
    },
    sessionId: 's',
    sessionKey: `k${i}`,
    source: 'x',
    transport: 'mqtt',
  },
}));
const payload = (i) =>
  Buffer.from(
    `[{"bn":"urn:dev:bench:${i}:","n":"temp","u":"Cel","v":21.5},{"n":"id","vs":"00001.00000001.0000000001.0000000001"}]`,
  );
const payloads = clients.map((_, i) => payload(i));
async function round(n) {
  const ps = [];
  for (let i = 0; i < n; i++) {
    const c = clients[i % 1000];
    const a = hooks.authorizePublish(c, topic, 1);
    const ok = a instanceof Promise ? await a : a;
    if (ok !== 0) throw new Error('denied ' + ok);
    ps.push(
      hooks.onPublish(c, {
        topic,
        payload: payloads[i % 1000],
        qos: 1,
        retain: false,
        contentType: 'application/senml+json',
      }),
    );
  }
  await Promise.all(ps);
}
await round(20000); // warm
const out = [];
for (let r = 0; r < 7; r++) {
  const c0 = process.cpuUsage();
  await round(20000);
  const c = process.cpuUsage(c0);
  out.push((c.user + c.system) / 20000);
}
out.sort((a, b) => a - b);
console.log(
  dir.split('/').pop(),
  'µs/msg median',
  out[3].toFixed(2),
  'all',
  out.map((x) => x.toFixed(1)).join(' '),
);
process.exit(0);
