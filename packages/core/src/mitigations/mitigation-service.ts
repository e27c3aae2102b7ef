/**
 * Mitigations (issue 14 item 3, decision 0036): a person's action on a device, or a policy's
 * answer to an alert — quarantine, release, revoke, set desired values, start an update, notify —
 * each recorded, audited, optionally a dry run, and reverted where that makes sense. A policy acts
 * with the authority of the person or API key that created (or last edited) it: refused at
 * creation when they lack an action's permission, and re-checked at every run.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { AuditService } from '../audit/audit-service.js';
import type { Principal } from '../identity/principal.js';
import { permissionsFor } from '../identity/permissions.js';
import { locationPath } from '../notifications/routing.js';
import type { AlertRecord, AlertSeverity } from '../ports/alerts.js';
import type { Clock } from '../ports/clock.js';
import type {
  MitigationAction,
  MitigationActor,
  MitigationFilter,
  MitigationParams,
  MitigationPolicyRecord,
  MitigationRecord,
} from '../ports/mitigations.js';
import type { SourceBlock } from '../edge/source-blocks.js';
import type { Device, Page, PageRequest } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import { newId } from '../shared/ids.js';
import type { Actor } from '../management/signals.js';
import {
  notReversible,
  planAction,
  revertAction,
  type ActionContext,
  type ActionDeps,
  type ActionPlan,
} from './actions.js';
import { blockOf, planBlock, releaseBlock, sourceToBlock, type BlockDeps } from './block-source.js';
import {
  ACTION_PERMISSIONS,
  MAX_BLOCK_SECONDS,
  POLICY_ACTIONS,
  checkKinds,
  checkParams,
  missingForAction,
  noSourceRefusal,
  policyMatches,
  targetRefusal,
} from './policy.js';

/** A person's request to act on one device. */
export interface MitigateRequest {
  action: MitigationAction;
  /** JSON (from a request body or a policy file); checked per action. */
  params?: { [key: string]: unknown };
  dryRun?: boolean;
  reason?: string;
  alertId?: string;
}

/** A policy as created (every field) or changed (the fields given). */
export interface PolicyInput {
  name: string;
  enabled?: boolean;
  kinds: string[];
  minSeverity?: AlertSeverity;
  locationId?: string | null;
  action: MitigationAction;
  /** JSON (from a request body or a policy file); checked per action. */
  params?: { [key: string]: unknown };
  dryRun?: boolean;
}

/** The caller of a person's operation and where it came from (for audit). */
export interface MitigationCaller {
  principal: Principal;
  source: string | null;
}

/** What an action is recorded against: a device, or (block_source) none. */
interface Target {
  orgId: string;
  deviceId: string | null;
}

const MAX_NAME = 100;
const MAX_REASON = 500;

const actorLabel = (a: MitigationActor) => `${a.type}:${a.id}`;

function actorOf(p: Principal): MitigationActor {
  if (p.kind !== 'user' && p.kind !== 'api_key')
    throw new BulwarkError('forbidden', 'only a user or an API key acts on devices');
  return { type: p.kind, id: p.id };
}

/** Throws 403 naming what `held` lacks for `action` (`who`: whose permissions they are). */
function requireFor(held: readonly string[], action: MitigationAction, who: string): void {
  const missing = missingForAction(held, action);
  if (missing.length > 0)
    throw new BulwarkError(
      'forbidden',
      `the ${action} action needs the ${missing.map((p) => `'${p}'`).join(', ')} permission, which ${who} does not hold`,
      { extra: { permission: missing[0]!, action } },
    );
}

export class MitigationService {
  constructor(
    private readonly d: ActionDeps & {
      storage: ActionDeps['storage'] &
        Pick<
          Storage,
          'mitigations' | 'alerts' | 'devices' | 'locations' | 'memberships' | 'apiKeys'
        >;
      clock: Clock;
      audit: AuditService;
    } & Omit<BlockDeps, 'clock'>,
  ) {}

  // --- a person's actions ---------------------------------------------------------------

  /**
   * Applies (or, with `dryRun`, describes) an action on a device of the caller's organization.
   * Bad input and a missing permission throw and change nothing; an action that fails when it
   * runs is recorded `failed` and its error thrown.
   */
  async mitigate(
    caller: MitigationCaller,
    deviceId: string,
    req: MitigateRequest,
  ): Promise<MitigationRecord> {
    const p = caller.principal;
    const actor = actorOf(p);
    requireFor(p.permissions, req.action, 'the caller');
    if (req.action === 'block_source')
      throw new BulwarkError(
        'mitigation_invalid',
        'block_source acts on a source address, not a device: POST /mitigations',
      );
    const params = checkParams(req.action, (req.params ?? {}) as MitigationParams);
    const reason = checkReason(req.reason);
    const device = await this.d.devices.get(p.orgId, deviceId);
    if (req.alertId !== undefined) {
      const alert = await this.d.storage.alerts.get(p.orgId, req.alertId);
      if (!alert) throw new BulwarkError('not_found', 'no such alert in this organization');
    }
    return this.#executeOnDevice(device, req.action, params, req.dryRun === true, {
      label: actorLabel(actor),
      actor: { type: actor.type, id: actor.id, source: caller.source },
      alertId: req.alertId ?? null,
      policyId: null,
      reason,
      throwOnFailure: true,
    });
  }

  /**
   * Blocks a source address at the edge (`block_source`, the only action on no device): the one
   * `params.source` names or the one the alert (`alertId`) names. Bad input — no source, an
   * address on the never-block list, an alert of another organization — throws and records
   * nothing.
   */
  async mitigateSource(caller: MitigationCaller, req: MitigateRequest): Promise<MitigationRecord> {
    const p = caller.principal;
    const actor = actorOf(p);
    if (req.action !== 'block_source')
      throw new BulwarkError(
        'mitigation_invalid',
        `${req.action} acts on a device: POST /devices/{id}/mitigations (this route takes block_source)`,
      );
    requireFor(p.permissions, req.action, 'the caller');
    const params = checkParams(req.action, (req.params ?? {}) as MitigationParams);
    const reason = checkReason(req.reason);
    let alert: AlertRecord | null = null;
    if (req.alertId !== undefined) {
      alert = (await this.d.storage.alerts.get(p.orgId, req.alertId)) ?? null;
      if (!alert) throw new BulwarkError('not_found', 'no such alert in this organization');
    }
    const source = sourceToBlock(this.d, params, alert);
    return this.#executeBlock(p.orgId, source, params, req.dryRun === true, {
      label: actorLabel(actor),
      actor: { type: actor.type, id: actor.id, source: caller.source },
      alertId: req.alertId ?? null,
      policyId: null,
      reason,
      throwOnFailure: true,
    });
  }

  /**
   * The blocks every node's edge enforces: each organization's applied, unreleased
   * `block_source` actions that have not ended (a node reads them at start and every few seconds,
   * in case it missed an event).
   */
  async liveSourceBlocks(): Promise<SourceBlock[]> {
    const now = this.d.clock.now();
    const rows = await this.d.storage.mitigations.listSourceBlocks(now - MAX_BLOCK_SECONDS * 1000);
    return rows.map((m) => blockOf(m, now)).filter((b): b is SourceBlock => b !== null);
  }

  /** One action of the organization (not_found for another's). */
  async get(orgId: string, id: string): Promise<MitigationRecord> {
    const m = await this.d.storage.mitigations.get(orgId, id);
    if (!m) throw new BulwarkError('not_found', 'no such mitigation in this organization');
    return m;
  }

  /** The organization's action log, newest first. */
  list(
    orgId: string,
    filter: MitigationFilter,
    page: PageRequest,
  ): Promise<Page<MitigationRecord>> {
    return this.d.storage.mitigations.list(orgId, filter, page);
  }

  /**
   * Undoes an applied action: a quarantine released to the state before it, a release
   * quarantined again, the desired values a patch replaced put back, an update job still open
   * canceled. A revocation, a notification, a dry run or a failure are refused with the reason.
   */
  async revert(caller: MitigationCaller, id: string): Promise<MitigationRecord> {
    const p = caller.principal;
    const actor = actorOf(p);
    const m = await this.get(p.orgId, id);
    requireFor(p.permissions, m.action, 'the caller');
    const why = notReversible(m);
    if (why !== null) throw new BulwarkError('mitigation_not_reversible', why);
    const by = actorLabel(actor);
    const done =
      m.action === 'block_source'
        ? releaseBlock({ ...this.d, clock: this.d.clock }, m)
        : await revertAction(this.d, m, {
            type: actor.type,
            id: actor.id,
            source: caller.source,
          });
    const after = await this.d.storage.mitigations.markReverted(
      p.orgId,
      id,
      this.d.clock.now(),
      by,
    );
    if (!after)
      throw new BulwarkError('mitigation_not_reversible', 'the action was already reverted');
    await this.#audit(after, 'mitigation.reverted', actor.type, actor.id, caller.source, {
      summary: done,
    });
    return after;
  }

  // --- policies ---------------------------------------------------------------------------

  /** The organization's policies, oldest first. */
  listPolicies(orgId: string): Promise<MitigationPolicyRecord[]> {
    return this.d.storage.mitigations.listPolicies(orgId);
  }

  async getPolicy(orgId: string, id: string): Promise<MitigationPolicyRecord> {
    const p = await this.d.storage.mitigations.getPolicy(orgId, id);
    if (!p) throw new BulwarkError('not_found', 'no such mitigation policy in this organization');
    return p;
  }

  /** Creates a policy that acts with the caller's authority (refused if it exceeds it). */
  async createPolicy(
    caller: MitigationCaller,
    input: PolicyInput,
  ): Promise<MitigationPolicyRecord> {
    const p = caller.principal;
    const createdBy = actorOf(p);
    const checked = await this.#checkPolicy(p, input);
    const now = this.d.clock.now();
    const policy: MitigationPolicyRecord = {
      id: newId(now),
      orgId: p.orgId,
      ...checked,
      createdBy,
      createdAt: now,
      updatedAt: now,
    };
    await this.d.storage.mitigations.createPolicy(policy);
    return policy;
  }

  /**
   * Changes a policy. The editor's authority replaces the creator's (the policy acts as they
   * do from now on), so an editor cannot widen a policy beyond their own permissions either.
   */
  async updatePolicy(
    caller: MitigationCaller,
    id: string,
    patch: Partial<PolicyInput>,
  ): Promise<MitigationPolicyRecord> {
    const p = caller.principal;
    const cur = await this.getPolicy(p.orgId, id);
    const merged: PolicyInput = {
      name: patch.name ?? cur.name,
      enabled: patch.enabled ?? cur.enabled,
      kinds: patch.kinds ?? cur.kinds,
      minSeverity: patch.minSeverity ?? cur.minSeverity,
      locationId: patch.locationId !== undefined ? patch.locationId : cur.locationId,
      action: patch.action ?? cur.action,
      params: patch.params ?? (patch.action && patch.action !== cur.action ? {} : cur.params),
      dryRun: patch.dryRun ?? cur.dryRun,
    };
    const checked = await this.#checkPolicy(p, merged);
    const updated = await this.d.storage.mitigations.updatePolicy(p.orgId, id, {
      ...checked,
      createdBy: actorOf(p),
      updatedAt: this.d.clock.now(),
    });
    if (!updated)
      throw new BulwarkError('not_found', 'no such mitigation policy in this organization');
    return updated;
  }

  async deletePolicy(orgId: string, id: string): Promise<void> {
    if (!(await this.d.storage.mitigations.deletePolicy(orgId, id)))
      throw new BulwarkError('not_found', 'no such mitigation policy in this organization');
  }

  // --- the policy runner ------------------------------------------------------------------

  /**
   * Applies every enabled policy of the alert's organization that matches it to the alert's
   * device; returns the actions recorded. An alert about no device, or a device gone, is left
   * alone. A policy whose creator no longer holds its action's permission records `failed`.
   */
  async onAlert(
    alert: Pick<AlertRecord, 'id' | 'orgId' | 'kind' | 'severity' | 'deviceId'>,
  ): Promise<MitigationRecord[]> {
    const policies = (await this.d.storage.mitigations.listPolicies(alert.orgId)).filter(
      (p) =>
        p.enabled &&
        p.kinds.includes(alert.kind) &&
        // An alert about no device can only have its source blocked.
        (alert.deviceId !== null || p.action === 'block_source'),
    );
    if (policies.length === 0) return [];
    const device =
      alert.deviceId === null
        ? null
        : await this.d.storage.devices.get(alert.orgId, alert.deviceId);
    if (alert.deviceId !== null && !device) return [];
    const path = device ? await this.#pathOf(device) : [];
    const out: MitigationRecord[] = [];
    for (const policy of policies) {
      if (!policyMatches(policy, alert, path)) continue;
      const ctx = {
        label: `policy:${policy.id}`,
        actor: { type: 'system' as const, id: `policy:${policy.id}`, source: null },
        alertId: alert.id,
        policyId: policy.id,
        reason: `policy ${policy.name} on alert ${alert.kind} (${alert.severity})`,
        throwOnFailure: false,
      };
      const target = { orgId: alert.orgId, deviceId: alert.deviceId };
      // A policy stored before device-punishing actions on target kinds were refused (or written
      // to the store directly) still must not act: recorded `skipped` with the reason.
      const skip = targetRefusal([alert.kind], policy.action);
      if (skip !== null) {
        out.push(
          await this.#record(target, policy.action, policy.params, 'skipped', ctx, [], null, skip),
        );
        continue;
      }
      const refusal = await this.#authorityRefusal(policy);
      if (refusal !== null) {
        out.push(
          await this.#record(
            target,
            policy.action,
            policy.params,
            'failed',
            ctx,
            [],
            null,
            refusal,
          ),
        );
        continue;
      }
      if (policy.action === 'block_source') {
        out.push(await this.#blockFromAlert(alert, policy, ctx));
        continue;
      }
      // The device as it is now: an earlier policy may have changed it.
      const current = (await this.d.storage.devices.get(alert.orgId, alert.deviceId!)) ?? device!;
      out.push(
        await this.#executeOnDevice(current, policy.action, policy.params, policy.dryRun, ctx),
      );
    }
    return out;
  }

  // --- inside -----------------------------------------------------------------------------

  /**
   * A block_source policy's answer to an alert: the alert's source blocked, or — when it names
   * none, or one never blocked — recorded `failed` / `skipped` with the reason.
   */
  async #blockFromAlert(
    alert: Pick<AlertRecord, 'id' | 'orgId'>,
    policy: MitigationPolicyRecord,
    ctx: ActionContext & { label: string; throwOnFailure: boolean },
  ): Promise<MitigationRecord> {
    const target = { orgId: alert.orgId, deviceId: null };
    const full = await this.d.storage.alerts.get(alert.orgId, alert.id);
    let source: string;
    try {
      source = sourceToBlock(this.d, policy.params, full ?? null);
    } catch (err) {
      const state = err instanceof BulwarkError && err.code === 'mitigation_source_exempt';
      const message = err instanceof Error ? err.message : String(err);
      return this.#record(
        target,
        'block_source',
        policy.params,
        state ? 'skipped' : 'failed',
        ctx,
        [],
        null,
        message,
      );
    }
    return this.#executeBlock(alert.orgId, source, policy.params, policy.dryRun, ctx);
  }

  #executeOnDevice(
    device: Device,
    action: MitigationAction,
    params: MitigationParams,
    dryRun: boolean,
    ctx: ActionContext & { label: string; throwOnFailure: boolean },
  ): Promise<MitigationRecord> {
    return this.#execute(
      { orgId: device.orgId, deviceId: device.id },
      action,
      params,
      dryRun,
      ctx,
      () => planAction(this.d, device, action, params, ctx),
    );
  }

  #executeBlock(
    orgId: string,
    source: string,
    params: MitigationParams,
    dryRun: boolean,
    ctx: ActionContext & { label: string; throwOnFailure: boolean },
  ): Promise<MitigationRecord> {
    // The record names the address it blocked (a policy's parameters do not).
    const recorded = { ...params, source };
    const id = newId(this.d.clock.now());
    return this.#execute(
      { orgId, deviceId: null },
      'block_source',
      recorded,
      dryRun,
      ctx,
      () => planBlock({ ...this.d, clock: this.d.clock }, orgId, source, recorded, () => id),
      id,
    );
  }

  async #execute(
    target: Target,
    action: MitigationAction,
    params: MitigationParams,
    dryRun: boolean,
    ctx: ActionContext & { label: string; throwOnFailure: boolean },
    plan: () => Promise<ActionPlan>,
    id?: string,
  ): Promise<MitigationRecord> {
    let summary: string[] = [];
    try {
      const planned = await plan();
      summary = planned.summary;
      if (dryRun)
        return await this.#record(target, action, params, 'dry_run', ctx, summary, null, null, id);
      const previous = planned.run ? await planned.run() : null;
      return await this.#record(
        target,
        action,
        params,
        'applied',
        ctx,
        summary,
        previous,
        null,
        id,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const failed = await this.#record(
        target,
        action,
        params,
        'failed',
        ctx,
        summary,
        null,
        message,
        id,
      );
      if (ctx.throwOnFailure) throw err;
      return failed;
    }
  }

  async #record(
    target: Target,
    action: MitigationAction,
    params: MitigationParams,
    state: MitigationRecord['state'],
    ctx: ActionContext & { label: string },
    summary: string[],
    previous: MitigationParams | null,
    error: string | null,
    id?: string,
  ): Promise<MitigationRecord> {
    const now = this.d.clock.now();
    const m: MitigationRecord = {
      id: id ?? newId(now),
      orgId: target.orgId,
      deviceId: target.deviceId,
      alertId: ctx.alertId,
      policyId: ctx.policyId,
      actor: ctx.label,
      action,
      params,
      state,
      reason: ctx.reason,
      summary,
      previous,
      error,
      at: now,
      revertedAt: null,
      revertedBy: null,
    };
    await this.d.storage.mitigations.record(m);
    await this.#audit(
      m,
      `mitigation.${state}`,
      ctx.actor.type,
      ctx.actor.id,
      ctx.actor.source ?? null,
      {
        summary,
        ...(error !== null ? { error } : {}),
      },
    );
    return m;
  }

  #audit(
    m: MitigationRecord,
    auditAction: string,
    actorType: Actor['type'],
    actorId: string | null,
    source: string | null,
    extra: Record<string, unknown>,
  ) {
    return this.d.audit.record({
      orgId: m.orgId,
      actorType,
      actorId,
      action: auditAction,
      // A block acts on an address, every other action on a device.
      targetType: m.deviceId === null ? 'source' : 'device',
      targetId: m.deviceId ?? (typeof m.params.source === 'string' ? m.params.source : null),
      source,
      result: m.state === 'failed' || m.state === 'skipped' ? 'failure' : 'success',
      detail: {
        mitigationId: m.id,
        action: m.action,
        params: m.params,
        alertId: m.alertId,
        policyId: m.policyId,
        reason: m.reason,
        ...extra,
      },
    });
  }

  async #checkPolicy(
    p: Principal,
    input: PolicyInput,
  ): Promise<
    Omit<MitigationPolicyRecord, 'id' | 'orgId' | 'createdBy' | 'createdAt' | 'updatedAt'>
  > {
    if (!POLICY_ACTIONS.includes(input.action))
      throw new BulwarkError(
        'mitigation_invalid',
        `a policy cannot ${input.action}: ${input.action === 'release' ? 'letting a device back in is a person’s decision' : 'unknown action'}`,
      );
    requireFor(p.permissions, input.action, 'its creator');
    const kinds = checkKinds(input.kinds);
    const target = targetRefusal(kinds, input.action);
    if (target !== null)
      throw new BulwarkError('mitigation_punishes_target', target, {
        extra: { action: input.action },
      });
    if (input.action === 'block_source') {
      const none = noSourceRefusal(kinds);
      if (none !== null) throw new BulwarkError('mitigation_no_source', none);
      if (input.params?.['source'] !== undefined)
        throw new BulwarkError(
          'mitigation_invalid',
          "a block_source policy blocks each alert's own source: it takes durationSeconds, not source",
        );
    }
    const name = input.name.trim();
    if (name.length === 0 || name.length > MAX_NAME)
      throw new BulwarkError('mitigation_invalid', `a policy name has 1 to ${MAX_NAME} characters`);
    const locationId = input.locationId ?? null;
    if (locationId !== null && !(await this.d.storage.locations.get(p.orgId, locationId)))
      throw new BulwarkError('mitigation_invalid', 'no such location in this organization');
    return {
      name,
      enabled: input.enabled ?? true,
      kinds,
      minSeverity: input.minSeverity ?? 'high',
      locationId,
      action: input.action,
      params: checkParams(input.action, (input.params ?? {}) as MitigationParams),
      dryRun: input.dryRun ?? false,
    };
  }

  /** Why the policy's owner may no longer act, or null when they may. */
  async #authorityRefusal(policy: MitigationPolicyRecord): Promise<string | null> {
    const who = policy.createdBy;
    let held: readonly string[];
    if (who.type === 'user') {
      const m = await this.d.storage.memberships.get(policy.orgId, who.id);
      if (!m)
        return `the policy's owner (user ${who.id}) is no longer a member of the organization`;
      held = permissionsFor(m.role, m.grants);
    } else {
      const k = await this.d.storage.apiKeys.get(who.id);
      const now = this.d.clock.now();
      if (
        !k ||
        k.orgId !== policy.orgId ||
        k.revokedAt !== null ||
        (k.expiresAt !== null && k.expiresAt <= now)
      )
        return `the policy's owner (API key ${who.id}) is revoked or expired`;
      held = k.permissions;
    }
    const missing = ACTION_PERMISSIONS[policy.action].filter((x) => !held.includes(x));
    return missing.length === 0
      ? null
      : `the policy's owner (${who.type} ${who.id}) no longer holds ${missing.map((x) => `'${x}'`).join(', ')}`;
  }

  async #pathOf(device: Device): Promise<string[]> {
    if (!device.locationId) return [];
    const all = await this.d.storage.locations.list(device.orgId);
    return locationPath(device.locationId, new Map(all.map((l) => [l.id, l.parentId])));
  }
}

function checkReason(reason: string | undefined): string | null {
  if (reason === undefined) return null;
  const r = reason.trim();
  if (r.length > MAX_REASON)
    throw new BulwarkError('mitigation_invalid', `a reason has at most ${MAX_REASON} characters`);
  return r.length === 0 ? null : r;
}
