/**
 * The AsyncAPI 3.0 document of the hub's MQTT interface (decision 0015): well-formed as the
 * official parser (@asyncapi/parser) judges it, and complete — every message of the device-plane
 * grammar is a channel with its address, direction, QoS and payload schema, next to the data
 * channels, with the three security schemes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Parser } from '@asyncapi/parser';
import { DEVICE_PLANE, DEVICE_PLANE_KINDS } from '@bulwark/protocol';
import { asyncApiDocument } from '@bulwark/transport';

/** The parts of the document the tests read. */
interface Doc {
  asyncapi: string;
  channels: Record<
    string,
    { address: string; parameters?: Record<string, unknown>; messages: Record<string, Ref> }
  >;
  operations: Record<
    string,
    { action?: string; channel: Ref; bindings?: { mqtt?: unknown }; messages: Ref[] }
  >;
  components: {
    messages: Record<string, { contentType?: string; payload: Partial<Ref> }>;
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, { type: string }>;
  };
}
interface Ref {
  $ref: string;
}

/** Error-level findings of the official parser (Spectral's severity 0; 1 warns, 2 informs). */
async function errors(doc: unknown): Promise<string[]> {
  const r = await new Parser().parse(JSON.stringify(doc));
  return r.diagnostics
    .filter((d) => Number(d.severity) === 0)
    .map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
}

/** A JSON copy without `errorMessage` (what the document must carry of a schema). */
const published = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'errorMessage' ? undefined : x)));

describe('AsyncAPI document', () => {
  const doc = asyncApiDocument({ version: '9.9.9' }) as unknown as Doc;

  it('is a valid AsyncAPI 3.0 document for the official parser', async () => {
    assert.equal(doc.asyncapi, '3.0.0');
    assert.deepEqual(await errors(doc), []);
  });

  it('is refused by the same parser when broken (the check can fail)', async () => {
    const broken = structuredClone(doc);
    broken.operations['sendDesired']!.channel = { $ref: '#/channels/nowhere' };
    assert.notDeepEqual(await errors(broken), []);
    const noAction = structuredClone(doc);
    delete noAction.operations['receiveReported']!.action;
    assert.notDeepEqual(await errors(noAction), []);
  });

  it('has every device-plane message as a channel with its schema, from the hub’s view', () => {
    for (const kind of DEVICE_PLANE_KINDS) {
      const m = DEVICE_PLANE[kind];
      const ch = doc.channels[kind];
      assert.equal(ch?.address, `$devices/{deviceId}/${m.rest}`, kind);
      assert.ok(ch.parameters?.['deviceId'], kind);
      for (const p of m.rest.match(/\{(\w+)\}/g) ?? [])
        assert.ok(ch.parameters?.[p.slice(1, -1)], `${kind} ${p}`);
      const message = doc.components.messages[kind];
      const name = message?.payload.$ref?.split('/').pop() ?? '';
      assert.deepEqual(doc.components.schemas[name], published(m.schema), kind);
      assert.equal(message?.contentType, 'application/json');
      const ops = Object.values(doc.operations).filter(
        (o) => o.channel.$ref === `#/channels/${kind}`,
      );
      assert.equal(ops.length, 1, kind);
      assert.equal(ops[0]?.action, m.from === 'hub' ? 'send' : 'receive', kind);
      assert.deepEqual(ops[0]?.bindings?.mqtt, {
        qos: m.qos,
        retain: m.retain,
        bindingVersion: '0.2.0',
      });
    }
    assert.equal(JSON.stringify(doc).includes('errorMessage'), false);
  });

  it('has the data channels, both ways, and the three ways to authenticate', () => {
    const addresses = Object.values(doc.channels).map((c) => c.address);
    assert.ok(addresses.includes('channels/{channelId}/messages'));
    assert.ok(addresses.includes('channels/{channelId}/messages/{subtopic}'));
    const actions = Object.values(doc.operations)
      .filter((o) => o.channel.$ref.startsWith('#/channels/channel'))
      .map((o) => o.action)
      .sort();
    assert.deepEqual(actions, ['receive', 'receive', 'send', 'send']);
    const schemes = doc.components.securitySchemes;
    assert.deepEqual(Object.keys(schemes).sort(), ['apiKey', 'deviceCertificate', 'deviceKey']);
    assert.equal(schemes['deviceCertificate']?.type, 'X509');
  });
});
