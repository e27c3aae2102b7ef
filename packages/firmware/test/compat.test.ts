/** checkCompatible: a verified release is matched against the device before any download. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCompatible, compareVersions, verifyRelease, type Release } from '@bulwark/firmware';
import { image, keySet, release } from './helpers.js';

function verified(over: Parameters<typeof release>[2] = {}): Release {
  const ks = keySet();
  const r = verifyRelease(release(ks.releaseKeys, image(), over), ks.root, { now: new Date() });
  assert.ok(r.ok);
  return r.release;
}

describe('checkCompatible', () => {
  const rel = verified();
  const device = { type: 'rpi4', hardware: 'rev-b', version: '1.1.0', releaseCounter: 6 };

  test('a fitting device gets no reasons; the same counter may be reinstalled', () => {
    assert.deepEqual(checkCompatible(rel, device), []);
    assert.deepEqual(checkCompatible(rel, { ...device, releaseCounter: 7 }), []);
  });

  test('each refusal reason', () => {
    const reasons = (d: typeof device | Omit<typeof device, 'hardware'>) =>
      checkCompatible(rel, d).map((x) => x.reason);
    assert.deepEqual(reasons({ ...device, type: 'esp32' }), ['wrong_type']);
    assert.deepEqual(reasons({ ...device, hardware: 'rev-a' }), ['wrong_hardware']);
    const { hardware: _h, ...noHardware } = device;
    assert.deepEqual(reasons(noHardware), ['wrong_hardware']);
    assert.deepEqual(reasons({ ...device, version: '0.9.5' }), ['below_min_version']);
    assert.deepEqual(reasons({ ...device, releaseCounter: 8 }), ['downgrade']);
    assert.deepEqual(
      reasons({ type: 'esp32', hardware: 'x', version: '0.1', releaseCounter: 99 }),
      ['wrong_type', 'wrong_hardware', 'below_min_version', 'downgrade'],
    );
  });

  test('an empty hardware list fits any hardware; no minVersion fits any version', () => {
    const any = verified({ hardware: [], minVersion: undefined });
    assert.deepEqual(
      checkCompatible(any, { ...device, hardware: 'anything', version: '0.0.1' }),
      [],
    );
  });

  test('version order follows semver precedence', () => {
    const ordered = [
      '0.9.9',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0',
      '1.0.1',
      '1.10.0',
    ];
    for (let i = 0; i + 1 < ordered.length; i++) {
      assert.ok(
        compareVersions(ordered[i] ?? '', ordered[i + 1] ?? '') < 0,
        `${ordered[i]} < ${ordered[i + 1]}`,
      );
    }
    assert.equal(compareVersions('1.2', '1.2.0'), 0);
  });
});
