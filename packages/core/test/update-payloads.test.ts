import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError } from '@bulwark/protocol';
import {
  MAX_UPDATE_PAYLOAD_BYTES,
  parseInstalledFirmware,
  parseUpdateStatusReport,
} from '@bulwark/core';

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const refused = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BulwarkError);
    assert.equal(e.code, 'device_payload_invalid');
    assert.match(e.message, re);
    return true;
  });

describe('update status reports', () => {
  it('accepts every device-reportable state with its fields', () => {
    assert.deepEqual(
      parseUpdateStatusReport(bytes({ state: 'downloading', progress: { bytes: 5, total: 9 } })),
      { state: 'downloading', progress: { bytes: 5, total: 9 } },
    );
    const delta = { totalBytes: 10, downloadedBytes: 3, reusedBytes: 7 };
    assert.deepEqual(parseUpdateStatusReport(bytes({ state: 'downloaded', delta })), {
      state: 'downloaded',
      delta,
    });
    const installed = {
      type: 'gw',
      version: '1.0.0',
      releaseCounter: 3,
      slot: 'a',
      hardware: 'r2',
    };
    assert.deepEqual(parseUpdateStatusReport(bytes({ state: 'succeeded', installed })), {
      state: 'succeeded',
      installed,
    });
    assert.deepEqual(
      parseUpdateStatusReport(
        bytes({ state: 'rejected', reason: 'bad_signature', message: 'sig 2 of 2 bad' }),
      ),
      { state: 'rejected', reason: 'bad_signature', message: 'sig 2 of 2 bad' },
    );
    assert.deepEqual(
      parseUpdateStatusReport(
        bytes({ state: 'rebooting', cancel: 'refused', reason: 'too_late', message: 'x' }),
      ),
      { state: 'rebooting', cancel: 'refused', reason: 'too_late', message: 'x' },
    );
    for (const state of ['delivered', 'installing', 'rebooting', 'failed', 'canceled']) {
      assert.equal(parseUpdateStatusReport(bytes({ state })).state, state);
    }
  });

  it('refuses the hub-only states, bad shapes and oversized payloads, naming the problem', () => {
    refused(() => parseUpdateStatusReport(bytes('nope')), /not JSON/);
    refused(() => parseUpdateStatusReport(bytes([1])), /JSON object/);
    refused(() => parseUpdateStatusReport(bytes({ state: 'queued' })), /"state" must be/);
    refused(() => parseUpdateStatusReport(bytes({ state: 'timed_out' })), /"state" must be/);
    refused(() => parseUpdateStatusReport(bytes({ state: 'failed', x: 1 })), /unknown field "x"/);
    refused(
      () => parseUpdateStatusReport(bytes({ state: 'failed', cancel: 'yes' })),
      /"cancel" must be "refused"/,
    );
    refused(
      () =>
        parseUpdateStatusReport(bytes({ state: 'downloading', progress: { bytes: 2, total: 1 } })),
      /progress/,
    );
    refused(
      () =>
        parseUpdateStatusReport(
          bytes({ state: 'downloading', progress: { bytes: 0, total: 1, eta: 5 } }),
        ),
      /unknown field "progress.eta"/,
    );
    refused(
      () => parseUpdateStatusReport(bytes({ state: 'failed', reason: 'Bad Code' })),
      /reason/,
    );
    refused(
      () => parseUpdateStatusReport(bytes({ state: 'failed', message: 'x'.repeat(2049) })),
      /message/,
    );
    refused(
      () => parseUpdateStatusReport(bytes({ state: 'downloaded', delta: { totalBytes: 1 } })),
      /delta/,
    );
    refused(
      () =>
        parseUpdateStatusReport(
          bytes({
            state: 'installing',
            installed: { type: 'gw', version: '1', releaseCounter: 0 },
          }),
        ),
      /only to succeeded and rolled_back/,
    );
    refused(
      () => parseUpdateStatusReport(bytes({ state: 'succeeded', installed: { type: 'gw' } })),
      /"installed\.version" is required/,
    );
    refused(
      () => parseUpdateStatusReport(Buffer.alloc(MAX_UPDATE_PAYLOAD_BYTES + 1, 0x20)),
      /at most/,
    );
  });
});

describe('installed firmware reports', () => {
  it('accepts type, version and release counter (hardware and slot optional)', () => {
    assert.deepEqual(
      parseInstalledFirmware(bytes({ type: 'gw', version: '2', releaseCounter: 0 })),
      {
        type: 'gw',
        version: '2',
        releaseCounter: 0,
      },
    );
  });
  it('refuses missing or wrong fields', () => {
    refused(() => parseInstalledFirmware(bytes({ type: 'gw', version: '2' })), /releaseCounter/);
    refused(
      () => parseInstalledFirmware(bytes({ type: 'gw', version: '2', releaseCounter: 1.5 })),
      /releaseCounter/,
    );
    refused(
      () =>
        parseInstalledFirmware(bytes({ type: 'gw', version: '2', releaseCounter: 1, slot: 'c' })),
      /slot/,
    );
    refused(
      () => parseInstalledFirmware(bytes({ type: '', version: '2', releaseCounter: 1 })),
      /type/,
    );
  });
});
