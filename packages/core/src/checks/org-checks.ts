/**
 * Every organization check of the fleet audit (decision 0031), run over one snapshot. The
 * hub-configuration checks (`hub.*`) come from the hub, which alone knows its listeners.
 */
import type { CheckId } from '../ports/checks.js';
import {
  adminApiKeys,
  broadPublishers,
  decommissionedWithRights,
  neverExpiringApiKeys,
  singleOwner,
  unusedApiKeys,
  usersWithoutSecondFactor,
} from './access-checks.js';
import {
  expiringCas,
  expiringCertificates,
  oldCertificates,
  sharedCertificates,
} from './certificate-checks.js';
import { flaggedFirmware, outdatedFirmware } from './firmware-checks.js';
import type { OrgSnapshot } from './snapshot.js';
import type { AuditCheckConfig, FindingDraft } from './types.js';

/** The checks every organization gets, by id. */
const ORG_CHECKS: Readonly<
  Record<string, (s: OrgSnapshot, now: number, cfg: AuditCheckConfig) => FindingDraft[]>
> = {
  'certificate.expiring': expiringCertificates,
  'certificate.old': oldCertificates,
  'certificate.shared': (s, now) => sharedCertificates(s, now),
  'api_key.admin': (s, now) => adminApiKeys(s, now),
  'api_key.unused': unusedApiKeys,
  'api_key.no_expiry': (s, now) => neverExpiringApiKeys(s, now),
  'device.publish_channels': (s, _now, cfg) => broadPublishers(s, cfg),
  'device.decommissioned_rights': (s) => decommissionedWithRights(s),
  'user.no_second_factor': (s) => usersWithoutSecondFactor(s),
  'organization.single_owner': (s) => singleOwner(s),
  'organization.ca_expiring': expiringCas,
  'firmware.flagged': (s) => flaggedFirmware(s),
  'firmware.outdated': outdatedFirmware,
};

/** The ids of the organization checks (every check but `hub.*`). */
export const ORG_CHECK_IDS = Object.keys(ORG_CHECKS) as CheckId[];

/** The hub-configuration checks, reported to the hub's operator organization. */
export const HUB_CHECK_IDS: readonly CheckId[] = ['hub.coap_plaintext', 'hub.mqtt_open_exposed'];

/** Runs every organization check over the snapshot. */
export function runOrgChecks(s: OrgSnapshot, now: number, cfg: AuditCheckConfig): FindingDraft[] {
  return Object.values(ORG_CHECKS).flatMap((check) => check(s, now, cfg));
}
