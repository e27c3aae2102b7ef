import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditSuite } from './audit.js';
import { checksSuite } from './checks.js';
import { rulesSuite } from './rules.js';
import { detectSuite } from './detect.js';
import { deviceKeySuite, deviceSuite, locationSuite } from './devices.js';
import { deviceWindowSuite } from './device-window.js';
import { savedViewSuite } from './saved-views.js';
import { metricsHistorySuite } from './metrics-history.js';
import type { OpenStorage } from './harness.js';
import {
  apiKeySuite,
  membershipSuite,
  organizationSuite,
  sessionSuite,
  userSuite,
} from './identity.js';
import { alertSuite } from './alerts.js';
import { mitigationSuite } from './mitigations.js';
import { managementSuite } from './management.js';
import { deviceLogSuite } from './device-logs.js';
import { messageSuite } from './messages.js';
import { mqttStateSuite } from './mqtt-state.js';
import { channelSuite } from './messaging.js';
import { pkiSuite } from './pki.js';
import { provisioningSuite } from './provisioning.js';
import { renewalSuite } from './renewal.js';
import { systemSuite } from './system.js';
import { ticketSuite } from './tickets.js';
import { firmwareSuite } from './firmware.js';
import { updateJobSuite } from './updates.js';
import { rolloutSuite } from './rollouts.js';
import { useStorage } from './harness.js';

export type { OpenStorage } from './harness.js';

/** Options of storageContract. */
export interface StorageContractOptions {
  /** Skip the whole suite with this reason (e.g. the database is unreachable); false runs it. */
  skip?: string | false;
}

/**
 * Registers the one storage contract every Storage adapter must pass, as `node:test` suites.
 * `open` must return a fresh, empty, migrated storage on each call: each store's suite gets its own.
 */
export function storageContract(
  name: string,
  open: OpenStorage,
  options: StorageContractOptions = {},
): void {
  describe(`Storage contract: ${name}`, { skip: options.skip ?? false }, () => {
    describe('Storage', () => {
      const s = useStorage(open);
      it('reports a schema version and answers ping', async () => {
        assert.ok(Number.isInteger(s().schemaVersion) && s().schemaVersion >= 1);
        assert.equal(await s().ping(), true);
      });
    });
    organizationSuite(open);
    userSuite(open);
    membershipSuite(open);
    sessionSuite(open);
    apiKeySuite(open);
    deviceSuite(open);
    deviceWindowSuite(open);
    savedViewSuite(open);
    metricsHistorySuite(open);
    deviceKeySuite(open);
    locationSuite(open);
    pkiSuite(open);
    renewalSuite(open);
    auditSuite(open);
    systemSuite(open);
    channelSuite(open);
    messageSuite(open);
    ticketSuite(open);
    managementSuite(open);
    deviceLogSuite(open);
    alertSuite(open);
    mitigationSuite(open);
    firmwareSuite(open);
    updateJobSuite(open);
    rolloutSuite(open);
    mqttStateSuite(open);
    provisioningSuite(open);
    checksSuite(open);
    rulesSuite(open);
    detectSuite(open);
  });
}
