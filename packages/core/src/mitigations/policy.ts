/**
 * The pure rules of mitigations (decision 0036): which permission each action needs, which
 * parameters it takes, whether a policy matches an alert, and the merge patch that restores the
 * desired values a `set_desired` replaced.
 */
import { BulwarkError, type Permission, type TwinValue } from '@bulwark/protocol';
import { ALERT_KIND_PATTERN, severityAtLeast } from '../alerts/kinds.js';
import { canonicalAddress } from '../edge/address.js';
import type { AlertRecord, AlertSeverity } from '../ports/alerts.js';
import type {
  MitigationAction,
  MitigationParams,
  MitigationPolicyRecord,
} from '../ports/mitigations.js';

/** Every action, in the order the API lists them. */
export const MITIGATION_ACTIONS: readonly MitigationAction[] = [
  'quarantine',
  'release',
  'revoke',
  'set_desired',
  'start_update',
  'notify',
  'block_source',
];

/**
 * The permissions an action needs — of the person who asks, or of a policy's creator. They are
 * those of the routes that do the same by hand: the device state and credentials are
 * `devices:manage` (PATCH /devices/:id, the certificate and key revocations), the desired twin
 * `devices:manage` (PATCH …/twin/desired), an update job `firmware:update` (POST …/updates),
 * raising an alert `devices:manage` (what acknowledging and resolving alerts need).
 */
export const ACTION_PERMISSIONS: Readonly<Record<MitigationAction, readonly Permission[]>> = {
  quarantine: ['devices:manage'],
  release: ['devices:manage'],
  revoke: ['devices:manage'],
  set_desired: ['devices:manage'],
  start_update: ['firmware:update'],
  notify: ['devices:manage'],
  // Blocking an address refuses the organization's own devices and keys from it (or, for the
  // hub operator's organization, every credential): what managing devices already allows.
  block_source: ['devices:manage'],
};

/**
 * Actions a policy may take. `release` is not one: letting a device back in is a person's
 * decision, never an alert's.
 */
export const POLICY_ACTIONS: readonly MitigationAction[] = MITIGATION_ACTIONS.filter(
  (a) => a !== 'release',
);

/**
 * The kind of the alert `notify` raises. Policies may not answer it, so a notify policy can never
 * trigger itself (or another policy) in a loop.
 */
export const MITIGATION_NOTICE_KIND = 'mitigation_notice';

/**
 * Actions that punish the alert's device: they cut it off (quarantine) or kill its credentials
 * (revoke). A policy may take them only on alerts whose device is the misbehaving party.
 */
export const DEVICE_PUNISHING_ACTIONS: readonly MitigationAction[] = ['quarantine', 'revoke'];

/**
 * Alert kinds whose device is the *target* of someone else's action, not the party misbehaving,
 * with why (decision 0036, amendment 2026-12-07). Anyone may cause such an alert without holding
 * the device's credential, so a policy punishing the device on it would be a denial of service
 * anyone who knows a device id can trigger. `auth_bruteforce` names the device whose id was
 * guessed at; the guesser never authenticated. The other detect rules count what only a holder of
 * the device's credential can do (connect and take a session over, publish, renew, or the agent's
 * own reports), so they stay open to every action: a `cloned_certificate` take-over needs the
 * credential itself, which is then compromised whichever copy is the genuine one.
 */
export const TARGET_ALERT_KINDS: Readonly<Record<string, string>> = {
  auth_bruteforce:
    'an auth_bruteforce alert names the device whose id was guessed at, not the guesser: anyone who knows a device id can cause it without its credential',
};

/**
 * Why a policy answering `kinds` may not take `action` (null: it may): a device-punishing action
 * on an alert kind whose device is the target, not the culprit.
 */
export function targetRefusal(kinds: readonly string[], action: MitigationAction): string | null {
  if (!DEVICE_PUNISHING_ACTIONS.includes(action)) return null;
  const hit = kinds.find((k) => Object.hasOwn(TARGET_ALERT_KINDS, k));
  if (hit === undefined) return null;
  return `a policy may not ${action} on ${hit} alerts: ${TARGET_ALERT_KINDS[hit]}; bind ${hit} to notify instead`;
}

/**
 * Alert kinds whose evidence names the one source address the misbehaviour came from (the
 * `source` fact): the only kinds a `block_source` policy may answer. `auth_bruteforce` counts
 * failed authentications per source; the other detect rules count what a device did, wherever
 * from (a cloned certificate has two sources, neither of them known to be the clone's).
 */
export const SOURCE_ALERT_KINDS: readonly string[] = ['auth_bruteforce'];

/** The longest block: a forgotten one (an address later given to someone honest) ends by itself. */
export const MAX_BLOCK_SECONDS = 24 * 3600;
/** The default block: an hour, twelve times the edge throttle's longest lock (5 min). */
export const DEFAULT_BLOCK_SECONDS = 3600;
/** The shortest block: less is what the edge throttle already does by itself. */
const MIN_BLOCK_SECONDS = 60;

/** Why a `block_source` policy may not answer `kinds` (null: it may). */
export function noSourceRefusal(kinds: readonly string[]): string | null {
  const bad = kinds.filter((k) => !SOURCE_ALERT_KINDS.includes(k));
  if (bad.length === 0) return null;
  return `a block_source policy answers only alert kinds that name one source address (${SOURCE_ALERT_KINDS.join(', ')}); ${bad.join(', ')} alerts name none`;
}

/** The permissions of `action` that `held` lacks (empty: it may act). */
export function missingForAction(held: readonly string[], action: MitigationAction): Permission[] {
  return ACTION_PERMISSIONS[action].filter((p) => !held.includes(p));
}

/**
 * Does an enabled `policy` answer `alert`? Its kind is one of the policy's, its severity at least
 * the policy's minimum, and — for a policy on a location — the device is there or below
 * (`locationPath`: the device's location and its ancestors; empty without one).
 */
export function policyMatches(
  policy: Pick<MitigationPolicyRecord, 'enabled' | 'kinds' | 'minSeverity' | 'locationId'>,
  alert: Pick<AlertRecord, 'kind' | 'severity'>,
  locationPath: readonly string[],
): boolean {
  if (!policy.enabled) return false;
  if (alert.kind === MITIGATION_NOTICE_KIND) return false;
  if (!policy.kinds.includes(alert.kind)) return false;
  if (!severityAtLeast(alert.severity, policy.minSeverity)) return false;
  return policy.locationId === null || locationPath.includes(policy.locationId);
}

const invalid = (message: string) => new BulwarkError('mitigation_invalid', message);
const isObject = (v: unknown): v is { [k: string]: TwinValue } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A desired patch is a summary of intent, not a document: bounded like a twin patch. */
const MAX_PATCH_BYTES = 8 * 1024;
const MAX_REASON = 200;
/** RFC 5280 reasons a mitigation may give (`superseded` would spare the renewed certificates). */
const REVOKE_REASONS = [
  'keyCompromise',
  'unspecified',
  'cessationOfOperation',
  'affiliationChanged',
];
const SEVERITIES: readonly AlertSeverity[] = ['info', 'low', 'medium', 'high', 'critical'];

/**
 * Checks an action's parameters and returns them normalised (unknown keys refused):
 * - `quarantine`, `release`: none;
 * - `revoke`: optional `reason` (an RFC 5280 reason name; default `keyCompromise`) and, to revoke
 *   one credential instead of all, `serial` (a certificate) or `keyId` (a device key);
 * - `set_desired`: `patch`, a non-empty JSON merge patch (object) of at most 8 KiB;
 * - `start_update`: `artifactId`, optional `timeoutSeconds`;
 * - `notify`: optional `severity` (default `high`) and `title`;
 * - `block_source`: optional `source` (an IP address literal, kept canonical) and
 *   `durationSeconds` (60 to 86,400; default 3,600).
 */
export function checkParams(action: MitigationAction, params: MitigationParams): MitigationParams {
  if (!MITIGATION_ACTIONS.includes(action)) throw invalid(`unknown action ${String(action)}`);
  const allowed: Record<MitigationAction, readonly string[]> = {
    quarantine: [],
    release: [],
    revoke: ['reason', 'serial', 'keyId'],
    set_desired: ['patch'],
    start_update: ['artifactId', 'timeoutSeconds'],
    notify: ['severity', 'title'],
    block_source: ['source', 'durationSeconds'],
  };
  const extra = Object.keys(params).filter((k) => !allowed[action].includes(k));
  if (extra.length > 0)
    throw invalid(
      `${action} takes ${allowed[action].length ? allowed[action].join(', ') : 'no parameters'}; not ${extra.join(', ')}`,
    );
  switch (action) {
    case 'revoke': {
      const r = params.reason ?? 'keyCompromise';
      if (typeof r !== 'string' || !REVOKE_REASONS.includes(r))
        throw invalid(`revoke.reason is one of ${REVOKE_REASONS.join(', ')}`);
      const { serial, keyId } = params;
      if (serial !== undefined && keyId !== undefined)
        throw invalid('revoke takes serial or keyId, not both');
      if (
        serial !== undefined &&
        (typeof serial !== 'string' || !/^[0-9A-Fa-f]{1,64}$/.test(serial))
      )
        throw invalid('revoke.serial is a certificate serial (hex)');
      if (
        keyId !== undefined &&
        (typeof keyId !== 'string' || keyId.length === 0 || keyId.length > 64)
      )
        throw invalid('revoke.keyId is the id of a device key');
      return {
        reason: r,
        ...(serial !== undefined ? { serial } : {}),
        ...(keyId !== undefined ? { keyId } : {}),
      };
    }
    case 'set_desired': {
      const patch = params.patch;
      if (!isObject(patch) || Object.keys(patch).length === 0)
        throw invalid('set_desired.patch is a non-empty JSON object (a merge patch)');
      if (JSON.stringify(patch).length > MAX_PATCH_BYTES)
        throw invalid('set_desired.patch is larger than 8 KiB');
      return { patch };
    }
    case 'start_update': {
      const id = params.artifactId;
      if (typeof id !== 'string' || id.length === 0 || id.length > 64)
        throw invalid('start_update.artifactId is the id of a firmware artifact');
      const t = params.timeoutSeconds;
      if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 1))
        throw invalid('start_update.timeoutSeconds is a positive integer');
      return t === undefined ? { artifactId: id } : { artifactId: id, timeoutSeconds: t };
    }
    case 'notify': {
      const severity = params.severity ?? 'high';
      if (typeof severity !== 'string' || !SEVERITIES.includes(severity as AlertSeverity))
        throw invalid(`notify.severity is one of ${SEVERITIES.join(', ')}`);
      const title = params.title;
      if (title !== undefined && (typeof title !== 'string' || title.length > MAX_REASON))
        throw invalid(`notify.title is a string of at most ${MAX_REASON} characters`);
      return title === undefined ? { severity } : { severity, title };
    }
    case 'block_source': {
      const out: MitigationParams = {};
      if (params.source !== undefined) {
        const canon = typeof params.source === 'string' ? canonicalAddress(params.source) : null;
        if (canon === null)
          throw invalid(
            'block_source.source is an IPv4 or IPv6 address literal (no name, no prefix)',
          );
        out.source = canon;
      }
      const t = params.durationSeconds ?? DEFAULT_BLOCK_SECONDS;
      if (
        typeof t !== 'number' ||
        !Number.isInteger(t) ||
        t < MIN_BLOCK_SECONDS ||
        t > MAX_BLOCK_SECONDS
      )
        throw invalid(
          `block_source.durationSeconds is an integer from ${MIN_BLOCK_SECONDS} to ${MAX_BLOCK_SECONDS}`,
        );
      out.durationSeconds = t;
      return out;
    }
    default:
      return {};
  }
}

/** Checks a policy's alert kinds: 1 to 50 valid kinds, never the notice kind. */
export function checkKinds(kinds: readonly string[]): string[] {
  if (kinds.length === 0 || kinds.length > 50)
    throw invalid('a policy answers 1 to 50 alert kinds (it never acts on every alert)');
  for (const k of kinds) {
    if (!ALERT_KIND_PATTERN.test(k)) throw invalid(`alert kind ${JSON.stringify(k)}`);
    if (k === MITIGATION_NOTICE_KIND)
      throw invalid(`a policy may not answer ${MITIGATION_NOTICE_KIND} alerts (a loop)`);
  }
  return [...new Set(kinds)];
}

/**
 * The merge patch (RFC 7386) that puts back what `patch` changes in `current`: for each key the
 * patch sets, the value it had (null — delete — where it had none), recursing where both the
 * patch and the current value are objects, so keys the patch did not touch stay as they are.
 */
export function restoringPatch(
  current: { [k: string]: TwinValue },
  patch: { [k: string]: TwinValue },
): { [k: string]: TwinValue } {
  const out: { [k: string]: TwinValue } = {};
  for (const [k, v] of Object.entries(patch)) {
    const had = Object.hasOwn(current, k) ? current[k] : undefined;
    if (isObject(v) && isObject(had)) out[k] = restoringPatch(had, v);
    else out[k] = had === undefined ? null : had;
  }
  return out;
}
