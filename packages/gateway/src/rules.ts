/**
 * Rules on telemetry at the site (decision 0040, amendment "local operation"; rules: decision
 * 0035). The gateway holds the rules of its site view — synced from the hub over its own mutual
 * TLS link, never from the LAN — and evaluates them with core's evaluator on every SenML channel
 * message its broker accepts, online or not, at the message's acceptance time (the time its id
 * carries, which the hub stores it under). Such a message goes up marked `ruled` and the hub's
 * engine skips it: each message is evaluated in one place, so a crossing fires once.
 *
 * When a rule fires here its `command` actions are handed to the device at once through the
 * gateway's device plane (durable; the result goes up like any report), and a `RuleFiring` joins
 * the uplink queue in the same commit as the message: the hub records those commands, raises the
 * alert (with the time it fired here), applies twin patches and queues webhooks when it gets it.
 * A clear goes up only when the rule resolves its alert on clear.
 */
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, type RuleFiring } from '@bulwark/protocol';
import { RuleEvaluator, newId, type CompiledRule, type RuleRecord } from '@bulwark/core';
import { isSenmlContentType, parseSenml } from '@bulwark/senml';
import type { LocalPlane } from './plane.js';
import { QUEUE_FIRING, type NewMessage } from './queue.js';
import type { Site } from './site.js';

/** A channel message the broker is accepting. */
export interface AcceptedMessage {
  id: string;
  /** Epoch ms of acceptance (the time of `id`). */
  at: number;
  deviceId: string;
  channelId: string;
  subtopic: string;
  contentType: string | undefined;
  payload: Uint8Array;
}

export class LocalRules {
  readonly evaluator: RuleEvaluator;
  /** Rule id → the site devices its type/tag/location scope takes (resolved by the hub). */
  #devices = new Map<string, ReadonlySet<string>>();
  #orgId: string | undefined;
  /** Messages evaluated, firings and clears sent, commands handed to devices. */
  readonly stats = { evaluated: 0, fired: 0, cleared: 0, commands: 0 };
  readonly #inGroup = (rule: CompiledRule, _orgId: string, deviceId: string) =>
    this.#devices.get(rule.rule.id)?.has(deviceId) ?? false;

  constructor(
    private readonly o: {
      plane: Pick<LocalPlane, 'localCommand'>;
      log: (level: 'warn' | 'info' | 'debug', msg: string) => void;
      /** Least time between two firings of one (rule, device), ms (default: the hub's minute). */
      minRefireMs?: number;
    },
  ) {
    this.evaluator = new RuleEvaluator(
      o.minRefireMs !== undefined ? { minRefireMs: o.minRefireMs } : {},
    );
  }

  /** Rules held (enabled, for this site). */
  get size(): number {
    return this.evaluator.size;
  }

  /**
   * A new site copy: its rules replace the held ones (an unchanged rule keeps its state; a changed
   * or removed one loses it, as on the hub). A view without rules (an older hub) leaves the
   * gateway evaluating none and marking nothing: the hub evaluates everything then.
   */
  apply(site: Site): void {
    const v = site.view;
    if (this.#orgId !== undefined && this.#orgId !== v.orgId)
      this.evaluator.setOrg(this.#orgId, []);
    this.#orgId = v.rules === undefined ? undefined : v.orgId;
    const records: RuleRecord[] = (v.rules ?? []).map((r) => ({
      id: r.id,
      orgId: v.orgId,
      name: r.name,
      description: '',
      enabled: true,
      createdBy: null,
      createdAt: r.updatedAt,
      updatedAt: r.updatedAt,
      record: r.record,
      condition: r.condition,
      forSeconds: r.forSeconds,
      scope: r.scope,
      actions: r.actions,
    }));
    this.evaluator.setOrg(v.orgId, records);
    this.#devices = new Map((v.rules ?? []).map((r) => [r.id, new Set(r.devices ?? [])]));
  }

  /**
   * Evaluates a message being accepted. Undefined: not evaluated here (no rules synced, not
   * SenML, or a pack the hub will refuse) — it goes up unmarked and the hub evaluates it.
   * Otherwise the firings to commit with it (often none), and the message is `ruled`.
   */
  evaluate(m: AcceptedMessage): NewMessage[] | undefined {
    const orgId = this.#orgId;
    if (orgId === undefined || m.contentType === undefined) return undefined;
    if (!isSenmlContentType(m.contentType)) return undefined;
    // No rules for the site: nothing could fire, and the pack need not be parsed.
    if (this.evaluator.size === 0) {
      this.stats.evaluated++;
      return [];
    }
    let senml;
    try {
      senml = parseSenml(m.contentType, m.payload, { now: m.at });
    } catch {
      return undefined;
    }
    this.stats.evaluated++;
    const out = this.evaluator.evaluate(
      {
        id: m.id,
        orgId,
        channelId: m.channelId,
        subtopic: m.subtopic,
        publisher: { type: 'device', id: m.deviceId },
        protocol: 'gateway',
        contentType: m.contentType,
        receivedAt: m.at,
        payload: m.payload,
        senml,
        origin: 'gateway',
      },
      this.#inGroup,
    );
    const firings: NewMessage[] = [];
    for (const { hit, t } of out?.due ?? []) {
      const rule = hit.rule.rule;
      if (t === 'clear' && !rule.actions.some((a) => a.type === 'alert' && a.resolveOnClear))
        continue;
      const doc: RuleFiring = {
        v: 1,
        t,
        ruleId: rule.id,
        ruleUpdatedAt: rule.updatedAt,
        channelId: m.channelId,
        record: hit.record.n,
        value: hit.value,
        messageId: m.id,
        at: m.at,
        commands: t === 'fire' ? this.#commands(rule, m) : [],
      };
      if (t === 'fire') this.stats.fired++;
      else this.stats.cleared++;
      firings.push({
        device: m.deviceId,
        channel: '',
        subtopic: '',
        contentType: 'application/json',
        payload: Buffer.from(JSON.stringify(doc)),
        flags: QUEUE_FIRING,
      });
    }
    return firings;
  }

  /** Hands the rule's commands to the device now; returns them for the hub's record. */
  #commands(rule: RuleRecord, m: AcceptedMessage): RuleFiring['commands'] {
    const out: RuleFiring['commands'] = [];
    for (const a of rule.actions) {
      if (a.type !== 'command') continue;
      const deadline = m.at + (a.timeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS) * 1000;
      const params = (a.params ?? {}) as Record<string, never>;
      const c = { id: newId(), name: a.name, params, deadline };
      const body = { id: c.id, name: c.name, params, deadline: new Date(deadline).toISOString() };
      if (!this.o.plane.localCommand(m.deviceId, body, deadline))
        this.o.log('warn', `rule ${rule.id}: plane store full, command ${c.id} not held`);
      this.stats.commands++;
      out.push(c);
    }
    return out;
  }
}
