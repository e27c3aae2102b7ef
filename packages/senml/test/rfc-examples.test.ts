import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSenml, type SenmlRecord } from '@bulwark/senml';
import { NOW, cbor, json } from './helpers.js';

const T0 = NOW / 1000;
const DEV = 'urn:dev:ow:10e2073a01080063';

/** Parses one pack in both representations and checks both give `expected`. */
function check(pack: Record<string, unknown>[], expected: SenmlRecord[]): void {
  assert.deepEqual(parseSenml('application/senml+json', json(pack), { now: NOW }), expected);
  assert.deepEqual(parseSenml('application/senml+cbor', cbor(pack), { now: NOW }), expected);
}

describe('RFC 8428 §5.1 examples, JSON and CBOR', () => {
  it('§5.1.1 single datapoint: a reading taken "now"', () => {
    check([{ n: DEV, u: 'Cel', v: 23.1 }], [{ n: DEV, u: 'Cel', v: 23.1, t: T0 }]);
  });

  it('§5.1.2 multiple datapoints: voltage and current now', () => {
    check(
      [
        { bn: `${DEV}:`, n: 'voltage', u: 'V', v: 120.1 },
        { n: 'current', u: 'A', v: 1.2 },
      ],
      [
        { n: `${DEV}:voltage`, u: 'V', v: 120.1, t: T0 },
        { n: `${DEV}:current`, u: 'A', v: 1.2, t: T0 },
      ],
    );
  });

  it('§5.1.2 multiple datapoints: current each second for five seconds before bt', () => {
    const bn = 'urn:dev:ow:10e2073a0108006:';
    const bt = 1.276020076001e9;
    check(
      [
        { bn, bt, bu: 'A', bver: 5, n: 'voltage', u: 'V', v: 120.1 },
        { n: 'current', t: -5, v: 1.2 },
        { n: 'current', t: -4, v: 1.3 },
        { n: 'current', t: -3, v: 1.4 },
        { n: 'current', t: -2, v: 1.5 },
        { n: 'current', t: -1, v: 1.6 },
        { n: 'current', v: 1.7 },
      ],
      // §4.6: resolved records are in chronological order (ties keep pack order).
      [
        { n: `${bn}current`, u: 'A', v: 1.2, t: bt - 5 },
        { n: `${bn}current`, u: 'A', v: 1.3, t: bt - 4 },
        { n: `${bn}current`, u: 'A', v: 1.4, t: bt - 3 },
        { n: `${bn}current`, u: 'A', v: 1.5, t: bt - 2 },
        { n: `${bn}current`, u: 'A', v: 1.6, t: bt - 1 },
        { n: `${bn}voltage`, u: 'V', v: 120.1, t: bt },
        { n: `${bn}current`, u: 'A', v: 1.7, t: bt },
      ],
    );
  });

  it('§5.1.3 multiple measurements resolve to exactly the §5.1.4 resolved data', () => {
    const pack = [
      { bn: DEV, bt: 1.320067464e9, bu: '%RH', v: 20 },
      { u: 'lon', v: 24.30621 },
      { u: 'lat', v: 60.07965 },
      { t: 60, v: 20.3 },
      { u: 'lon', t: 60, v: 24.30622 },
      { u: 'lat', t: 60, v: 60.07965 },
      { t: 120, v: 20.7 },
      { u: 'lon', t: 120, v: 24.30623 },
      { u: 'lat', t: 120, v: 60.07966 },
      { u: '%EL', t: 150, v: 98 },
      { t: 180, v: 21.2 },
      { u: 'lon', t: 180, v: 24.30628 },
      { u: 'lat', t: 180, v: 60.07967 },
    ];
    // §5.1.4, verbatim.
    const resolved = [
      { n: DEV, u: '%RH', t: 1.320067464e9, v: 20 },
      { n: DEV, u: 'lon', t: 1.320067464e9, v: 24.30621 },
      { n: DEV, u: 'lat', t: 1.320067464e9, v: 60.07965 },
      { n: DEV, u: '%RH', t: 1.320067524e9, v: 20.3 },
      { n: DEV, u: 'lon', t: 1.320067524e9, v: 24.30622 },
      { n: DEV, u: 'lat', t: 1.320067524e9, v: 60.07965 },
      { n: DEV, u: '%RH', t: 1.320067584e9, v: 20.7 },
      { n: DEV, u: 'lon', t: 1.320067584e9, v: 24.30623 },
      { n: DEV, u: 'lat', t: 1.320067584e9, v: 60.07966 },
      { n: DEV, u: '%EL', t: 1.320067614e9, v: 98 },
      { n: DEV, u: '%RH', t: 1.320067644e9, v: 21.2 },
      { n: DEV, u: 'lon', t: 1.320067644e9, v: 24.30628 },
      { n: DEV, u: 'lat', t: 1.320067644e9, v: 60.07967 },
    ];
    check(pack, resolved);
  });

  it('§5.1.4 resolved data is a fixed point: it parses to itself', () => {
    const resolved = [
      { n: DEV, u: '%RH', t: 1.320067464e9, v: 20 },
      { n: DEV, u: '%EL', t: 1.320067614e9, v: 98 },
    ];
    check(resolved, resolved);
  });

  it('§5.1.5 multiple data types: number, string, boolean and data values', () => {
    check(
      [
        { bn: `${DEV}:`, n: 'temp', u: 'Cel', v: 23.1 },
        { n: 'label', vs: 'Machine Room' },
        { n: 'open', vb: false },
        { n: 'nfc-reader', vd: 'aGkgCg' },
      ],
      [
        { n: `${DEV}:temp`, u: 'Cel', v: 23.1, t: T0 },
        { n: `${DEV}:label`, vs: 'Machine Room', t: T0 },
        { n: `${DEV}:open`, vb: false, t: T0 },
        { n: `${DEV}:nfc-reader`, vd: 'aGkgCg', t: T0 },
      ],
    );
  });

  it('§5.1.6 collection of resources: the last record keeps the 3rd bn and the 1st bt', () => {
    const bt = 1.320078429e9;
    check(
      [
        { bn: '2001:db8::2/', bt, n: 'temperature', u: 'Cel', v: 25.2 },
        { n: 'humidity', u: '%RH', v: 30 },
        { bn: '2001:db8::1/', n: 'temperature', u: 'Cel', v: 12.3 },
        { n: 'humidity', u: '%RH', v: 67 },
      ],
      [
        { n: '2001:db8::2/temperature', u: 'Cel', v: 25.2, t: bt },
        { n: '2001:db8::2/humidity', u: '%RH', v: 30, t: bt },
        { n: '2001:db8::1/temperature', u: 'Cel', v: 12.3, t: bt },
        { n: '2001:db8::1/humidity', u: '%RH', v: 67, t: bt },
      ],
    );
  });

  it('§5.1.7 setting an actuator: thermostat set point, heat and fan', () => {
    const expected = [
      { n: `${DEV}:temp`, u: 'Cel', v: 23.1, t: T0 },
      { n: `${DEV}:heat`, u: '/', v: 1, t: T0 },
      { n: `${DEV}:fan`, u: '/', v: 0, t: T0 },
    ];
    check(
      [
        { bn: `${DEV}:`, n: 'temp', u: 'Cel', v: 23.1 },
        { n: 'heat', u: '/', v: 1 },
        { n: 'fan', u: '/', v: 0 },
      ],
      expected,
    );
    // The same pack with its base name in a record of its own (as drafts of the RFC printed it).
    check(
      [
        { bn: `${DEV}:` },
        { n: 'temp', u: 'Cel', v: 23.1 },
        { n: 'heat', u: '/', v: 1 },
        { n: 'fan', u: '/', v: 0 },
      ],
      expected,
    );
  });

  it('§5.1.7 setting an actuator: two lights on, then dimmed and off 100 ms later', () => {
    const bt = 1.320078429e9;
    check(
      [
        { bt, bu: '/', n: '2001:db8::3', v: 1 },
        { n: '2001:db8::4', v: 1 },
      ],
      [
        { n: '2001:db8::3', u: '/', v: 1, t: bt },
        { n: '2001:db8::4', u: '/', v: 1, t: bt },
      ],
    );
    check(
      [
        { bt, bu: '/', n: '2001:db8::3', v: 0.5 },
        { n: '2001:db8::4', v: 0.5 },
        { n: '2001:db8::3', t: 0.1, v: 0 },
        { n: '2001:db8::4', t: 0.1, v: 0 },
      ],
      [
        { n: '2001:db8::3', u: '/', v: 0.5, t: bt },
        { n: '2001:db8::4', u: '/', v: 0.5, t: bt },
        { n: '2001:db8::3', u: '/', v: 0, t: bt + 0.1 },
        { n: '2001:db8::4', u: '/', v: 0, t: bt + 0.1 },
      ],
    );
  });
});
