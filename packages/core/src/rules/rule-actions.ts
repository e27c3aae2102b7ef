/**
 * What a rule on telemetry does when it fires or clears (decision 0035): raise the device's alert,
 * queue a command for it, set a path of its desired twin, or queue a signed webhook to a
 * notification endpoint, through the services and queue that own those. Each action taken is
 * audited with the rule as the actor (`rule.alert`, `rule.command`, `rule.twin`, `rule.webhook`),
 * success or failure; one action failing does not stop the next. A firing is a
 * `rule.fired` domain event.
 */
import type { AlertService } from '../alerts/alert-service.js';
import type { AuditService } from '../audit/audit-service.js';
import type { CommandService } from '../management/command-service.js';
import type { Actor } from '../management/signals.js';
import type { TwinService } from '../management/twin-service.js';
import type { Clock } from '../ports/clock.js';
import type { DomainEvents } from '../ports/events.js';
import type { NotificationStore } from '../ports/notifications.js';
import type { RuleRecord } from '../ports/rules.js';
import { queueRuleWebhook } from '../notifications/rule-webhook.js';
import { describeCondition, type RuleValue } from './condition.js';
import { raiseRuleAlert, resolveRuleAlert } from './rule-alert.js';
import { twinPatchFor } from './validate.js';

/** The message and record that made a rule fire or clear. */
export interface RuleOccasion {
  orgId: string;
  deviceId: string;
  channelId: string;
  record: string;
  value: RuleValue;
  /** The envelope, for the audit trail. */
  messageId: string;
  /**
   * Fired on a gateway (decision 0040, "local operation"): which gateway, when it fired there, and
   * the commands it handed to the device itself — recorded here as delivered, not sent again.
   */
  gateway?: {
    id: string;
    at: number;
    commands: { id: string; name: string; params: Record<string, unknown>; deadline: number }[];
  };
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const codeOf = (err: unknown): string =>
  typeof (err as { code?: unknown })?.code === 'string'
    ? (err as { code: string }).code
    : 'internal';

/** Takes rules' actions. */
export class RuleActions {
  constructor(
    private readonly d: {
      alerts: Pick<AlertService, 'raise' | 'resolveKey'>;
      commands: Pick<CommandService, 'send' | 'recordDelivered'>;
      twins: Pick<TwinService, 'patchDesired'>;
      audit: Pick<AuditService, 'record'>;
      clock: Clock;
      events?: DomainEvents;
      /** The notification delivery queue (webhook actions); without it they fail, audited. */
      notifications?: Pick<NotificationStore, 'getEndpoint' | 'enqueue'>;
      /** Told after a webhook was queued (the delivery worker may run at once). */
      onQueued?: () => void;
    },
  ) {}

  /** Takes every action of the rule for the occasion, in order. */
  async fire(rule: RuleRecord, o: RuleOccasion): Promise<void> {
    const actor: Actor = { type: 'rule', id: rule.id, source: `rule:${rule.id}` };
    const base = {
      ruleId: rule.id,
      record: o.record,
      value: o.value,
      condition: describeCondition(rule.condition),
      forSeconds: rule.forSeconds,
      channelId: o.channelId,
      messageId: o.messageId,
      ...(o.gateway
        ? { gatewayId: o.gateway.id, firedAt: new Date(o.gateway.at).toISOString() }
        : {}),
    };
    const local = [...(o.gateway?.commands ?? [])];
    for (const action of rule.actions) {
      let detail: Record<string, unknown> = {};
      try {
        switch (action.type) {
          case 'alert': {
            const opened = await raiseRuleAlert(this.d.alerts, o.orgId, o.deviceId, {
              ruleId: rule.id,
              ruleName: rule.name,
              record: o.record,
              value: o.value,
              condition: base.condition,
              forSeconds: rule.forSeconds,
              channelId: o.channelId,
              ...(base.firedAt !== undefined ? { firedAt: base.firedAt } : {}),
            });
            detail = { alertId: opened.alert.id, alreadyOpen: opened.alreadyOpen };
            break;
          }
          case 'command': {
            const taken = o.gateway ? local.shift() : undefined;
            if (o.gateway) {
              // The gateway ran this action itself: its command is recorded, not sent again.
              if (!taken) throw new Error('the gateway took no command for this action');
              await this.d.commands.recordDelivered(o.orgId, o.deviceId, taken, actor, o.gateway);
              detail = { commandId: taken.id, name: taken.name, local: true };
              break;
            }
            const c = await this.d.commands.send(
              o.orgId,
              o.deviceId,
              {
                name: action.name,
                ...(action.params !== undefined ? { params: action.params } : {}),
                ...(action.timeoutSeconds !== undefined
                  ? { timeoutSeconds: action.timeoutSeconds }
                  : {}),
              },
              actor,
            );
            detail = { commandId: c.id, name: action.name };
            break;
          }
          case 'twin': {
            const t = await this.d.twins.patchDesired(
              o.orgId,
              o.deviceId,
              twinPatchFor(action.path, action.value),
              { actor },
            );
            detail = { path: action.path, value: action.value, changed: t.changed };
            break;
          }
          case 'webhook': {
            if (!this.d.notifications) throw new Error('this hub has no notification queue');
            const queued = await queueRuleWebhook(this.d.notifications, action.endpointId, {
              orgId: o.orgId,
              rule: {
                id: rule.id,
                name: rule.name,
                condition: base.condition,
                forSeconds: rule.forSeconds,
              },
              deviceId: o.deviceId,
              channelId: o.channelId,
              record: o.record,
              value: o.value,
              messageId: o.messageId,
              at: this.d.clock.now(),
            });
            this.d.onQueued?.();
            detail = { endpointId: action.endpointId, deliveryId: queued.id };
            break;
          }
        }
        await this.#audit(rule, o, `rule.${action.type}`, 'success', { ...base, ...detail });
      } catch (err) {
        await this.#audit(rule, o, `rule.${action.type}`, 'failure', {
          ...base,
          error: codeOf(err),
          message: messageOf(err),
        });
      }
    }
    this.d.events?.emit({
      type: 'rule.fired',
      orgId: o.orgId,
      at: this.d.clock.now(),
      ruleId: rule.id,
      deviceId: o.deviceId,
      channelId: o.channelId,
      record: o.record,
      value: o.value,
      actions: rule.actions.map((a) => a.type),
    });
  }

  /** The condition cleared after the rule fired: resolve its alert if the rule says so. */
  async clear(rule: RuleRecord, o: RuleOccasion): Promise<void> {
    const alert = rule.actions.find((a) => a.type === 'alert');
    if (alert?.type !== 'alert' || alert.resolveOnClear !== true) return;
    try {
      const n = await resolveRuleAlert(this.d.alerts, o.orgId, rule.id, o.deviceId);
      if (n > 0)
        await this.#audit(rule, o, 'rule.alert_resolved', 'success', {
          ruleId: rule.id,
          record: o.record,
          value: o.value,
        });
    } catch (err) {
      await this.#audit(rule, o, 'rule.alert_resolved', 'failure', {
        ruleId: rule.id,
        error: codeOf(err),
        message: messageOf(err),
      });
    }
  }

  async #audit(
    rule: RuleRecord,
    o: RuleOccasion,
    action: string,
    result: 'success' | 'failure',
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.d.audit.record({
      orgId: o.orgId,
      actorType: 'rule',
      actorId: rule.id,
      action,
      targetType: 'device',
      targetId: o.deviceId,
      source: `rule:${rule.id}`,
      result,
      detail,
    });
  }
}
