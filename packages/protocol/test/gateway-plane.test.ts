/**
 * The wire contract of the device plane through a gateway (decision 0040): the session snapshot,
 * the downlink topic and which device reports travel the uplink.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BulwarkError,
  gatewayDownlinkRest,
  parseGatewayDownlink,
  parseGatewaySessions,
  parseUplinkBatch,
  relayedReport,
} from '@bulwark/protocol';

const X = '01a2b3c4-0000-7000-8000-000000000001';
const ID7 = '01a2b3c4-0000-7000-8000-0000000000aa';
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const refused = (f: () => unknown, re: RegExp) =>
  assert.throws(
    f,
    (e: unknown) =>
      e instanceof BulwarkError && e.code === 'device_payload_invalid' && re.test(e.message),
  );

describe('gateway plane wire contract', () => {
  it('a session snapshot lists devices with the hub messages they take, nothing else', () => {
    const ok = parseGatewaySessions(
      bytes({ v: 1, devices: [{ id: X, takes: ['desired', 'command'] }] }),
    );
    assert.deepEqual(ok.devices[0]?.takes, ['desired', 'command']);
    refused(() => parseGatewaySessions(bytes({ v: 2, devices: [] })), /expected/);
    refused(
      () => parseGatewaySessions(bytes({ v: 1, devices: [{ id: 'x', takes: [] }] })),
      /device id/,
    );
    refused(
      () => parseGatewaySessions(bytes({ v: 1, devices: [{ id: X, takes: ['presence'] }] })),
      /takes/,
    );
    refused(
      () =>
        parseGatewaySessions(
          bytes({
            v: 1,
            devices: [
              { id: X, takes: [] },
              { id: X, takes: [] },
            ],
          }),
        ),
      /twice/,
    );
    refused(() => parseGatewaySessions(Buffer.from('{')), /not JSON/);
  });

  it('a downlink topic names a site device and a hub message of its own plane', () => {
    assert.deepEqual(parseGatewayDownlink(gatewayDownlinkRest(X, 'commands/c1')), {
      deviceId: X,
      rest: 'commands/c1',
      kind: 'command',
      param: 'c1',
    });
    assert.equal(parseGatewayDownlink(gatewayDownlinkRest(X, 'twin/desired'))?.kind, 'desired');
    assert.equal(parseGatewayDownlink(gatewayDownlinkRest(X, 'twin/reported')), undefined);
    // Tunnel offers are relayed too (decision 0042, through a gateway).
    assert.equal(parseGatewayDownlink(gatewayDownlinkRest(X, 'tunnels/t1'))?.kind, 'tunnel');
    assert.equal(parseGatewayDownlink(`downlink/not-an-id/commands/c1`), undefined);
    assert.equal(parseGatewayDownlink('uplink'), undefined);
  });

  it('every device report but presence travels the uplink as a plane message', () => {
    assert.equal(relayedReport('twin/reported'), 'reported');
    assert.equal(relayedReport('commands/c1/status'), 'commandStatus');
    assert.equal(relayedReport('updates/j1/status'), 'updateStatus');
    assert.equal(relayedReport('presence'), undefined);
    assert.equal(relayedReport('twin/desired'), undefined);
    const m = {
      id: ID7,
      device: X,
      channel: '',
      subtopic: '',
      plane: 'twin/reported',
      payload: '',
    };
    assert.equal(
      parseUplinkBatch(bytes({ v: 1, messages: [m] })).messages[0]?.plane,
      'twin/reported',
    );
    refused(
      () => parseUplinkBatch(bytes({ v: 1, messages: [{ ...m, plane: 'presence' }] })),
      /plane/,
    );
    refused(
      () => parseUplinkBatch(bytes({ v: 1, messages: [{ ...m, channel: X }] })),
      /no channel/,
    );
  });
});
