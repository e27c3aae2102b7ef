/**
 * The wire contract of rules at a gateway's site (decision 0040, "local operation"): the `ruled`
 * mark and `firing` messages of an uplink batch, and the RuleFiring document.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError, parseRuleFiring, parseUplinkBatch } from '@bulwark/protocol';

const X = '01a2b3c4-0000-7000-8000-000000000001';
const ID7 = '01a2b3c4-0000-7000-8000-0000000000aa';
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const refused = (f: () => unknown, re: RegExp) =>
  assert.throws(
    f,
    (e: unknown) =>
      e instanceof BulwarkError && e.code === 'device_payload_invalid' && re.test(e.message),
  );
const batch = (m: Record<string, unknown>) =>
  bytes({ v: 1, messages: [{ id: ID7, device: X, payload: '', ...m }] });
const firing = {
  v: 1,
  t: 'fire',
  ruleId: X,
  ruleUpdatedAt: 1,
  channelId: X,
  record: 'temp',
  value: 85,
  messageId: ID7,
  at: 2,
  commands: [{ id: ID7, name: 'fan.on', params: { speed: 3 }, deadline: 3 }],
};

describe('gateway rules wire contract', () => {
  it('a channel message may be marked ruled; a firing has no channel and no mark', () => {
    const ok = parseUplinkBatch(batch({ channel: X, subtopic: 't', ruled: true }));
    assert.equal(ok.messages[0]!.ruled, true);
    assert.equal(
      parseUplinkBatch(batch({ channel: '', subtopic: '', firing: true })).messages[0]!.firing,
      true,
    );
    refused(() => parseUplinkBatch(batch({ channel: X, subtopic: 't', ruled: 1 })), /ruled/);
    refused(
      () => parseUplinkBatch(batch({ channel: '', subtopic: '', plane: 'events', ruled: true })),
      /ruled/,
    );
    refused(() => parseUplinkBatch(batch({ channel: X, subtopic: '', firing: true })), /channel/);
    refused(
      () => parseUplinkBatch(batch({ channel: '', subtopic: '', firing: true, plane: 'events' })),
      /alone/,
    );
  });

  it('a RuleFiring is checked field by field', () => {
    assert.deepEqual(parseRuleFiring(bytes(firing)), firing);
    refused(() => parseRuleFiring(Buffer.from('{')), /not JSON/);
    refused(() => parseRuleFiring(bytes({ ...firing, t: 'maybe' })), /fire or clear/);
    refused(() => parseRuleFiring(bytes({ ...firing, ruleId: 'r1' })), /ruleId/);
    refused(() => parseRuleFiring(bytes({ ...firing, value: { x: 1 } })), /value/);
    refused(() => parseRuleFiring(bytes({ ...firing, at: -1 })), /epoch/);
    const cmd = firing.commands[0]!;
    refused(() => parseRuleFiring(bytes({ ...firing, commands: Array(6).fill(cmd) })), /at most 5/);
    refused(
      () =>
        parseRuleFiring(
          bytes({ ...firing, commands: [{ ...cmd, id: X.replace('7000', '4000') }] }),
        ),
      /UUIDv7/,
    );
    refused(
      () => parseRuleFiring(bytes({ ...firing, commands: [{ ...cmd, name: '../x' }] })),
      /name/,
    );
    refused(
      () => parseRuleFiring(bytes({ ...firing, commands: [{ ...cmd, params: [] }] })),
      /params/,
    );
  });
});
