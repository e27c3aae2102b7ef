/**
 * What a notification says (decision 0030): a snapshot of the alert taken when the delivery was
 * queued, rendered as Bulwark's webhook JSON, a Slack incoming-webhook message, or an email.
 */
import type { AlertRecord } from '../ports/alerts.js';
import type { DeliveryEvent, DeliveryRecord } from '../ports/notifications.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The alert as a notification shows it (ISO times; the same fields as the API's view). */
export function alertSnapshot(a: AlertRecord): { [key: string]: unknown } {
  return {
    id: a.id,
    kind: a.kind,
    severity: a.severity,
    state: a.state,
    title: a.title,
    deviceId: a.deviceId,
    dedupKey: a.dedupKey,
    groupKey: a.groupKey,
    occurrences: a.occurrences,
    openedAt: iso(a.openedAt),
    lastSeenAt: iso(a.lastSeenAt),
    acknowledgedAt: iso(a.acknowledgedAt),
    resolvedAt: iso(a.resolvedAt),
    assignee: a.assignee,
    evidence: a.evidence,
  };
}

/** The stored payload of a delivery about `alert`. */
export function alertPayload(
  event: DeliveryEvent,
  alert: AlertRecord,
  at: number,
): { [key: string]: unknown } {
  return {
    type: event,
    organizationId: alert.orgId,
    occurredAt: iso(at),
    alert: alertSnapshot(alert),
  };
}

/** What a rule on telemetry's webhook action sends (decision 0035, amendment). */
export interface RuleFiredFacts {
  orgId: string;
  rule: { id: string; name: string; condition: string; forSeconds: number };
  deviceId: string;
  channelId: string;
  record: string;
  value: unknown;
  messageId: string;
  at: number;
}

/** The stored payload of a `rule.fired` delivery. */
export function ruleFiredPayload(f: RuleFiredFacts): { [key: string]: unknown } {
  return {
    type: 'rule.fired',
    organizationId: f.orgId,
    occurredAt: iso(f.at),
    rule: { ...f.rule },
    deviceId: f.deviceId,
    channelId: f.channelId,
    record: f.record,
    value: f.value,
    messageId: f.messageId,
  };
}

interface Snapshot {
  rule?: { name?: string; condition?: string };
  record?: string;
  value?: unknown;
  deviceId?: string;
  type?: string;
  alert?: {
    title?: string;
    severity?: string;
    kind?: string;
    deviceId?: string | null;
    id?: string;
  };
}

const VERB: Readonly<Record<string, string>> = {
  'alert.opened': 'opened',
  'alert.resolved': 'resolved',
  'alert.escalated': 'escalated (still unacknowledged)',
  test: 'test message',
};

/** One line, ASCII (it is an email subject too): `[HIGH] Rollout paused: device … - opened`. */
export function headline(d: Pick<DeliveryRecord, 'event' | 'payload'>): string {
  const p = d.payload as Snapshot;
  if (d.event === 'rule.fired')
    return `Rule ${p.rule?.name ?? ''} fired: ${p.record ?? ''} = ${JSON.stringify(p.value ?? null)} (${p.rule?.condition ?? ''})`;
  if (d.event === 'test' || !p.alert) return 'Bulwark test notification';
  const a = p.alert;
  return `[${String(a.severity ?? '').toUpperCase()}] ${a.title ?? a.kind ?? 'alert'} - ${VERB[d.event] ?? d.event}`;
}

/** The webhook body: Bulwark's JSON (the delivery id first), or a Slack message. */
export function webhookBody(d: DeliveryRecord, format: 'json' | 'slack'): string {
  if (format === 'slack') {
    const p = d.payload as Snapshot;
    const fields =
      d.event === 'rule.fired'
        ? [`*Device:* ${p.deviceId ?? ''}`, `*Record:* ${p.record ?? ''}`]
        : p.alert
          ? [
              `*Kind:* ${p.alert.kind ?? ''}`,
              `*Severity:* ${p.alert.severity ?? ''}`,
              `*Device:* ${p.alert.deviceId ?? 'fleet'}`,
              `*Alert:* ${p.alert.id ?? ''}`,
            ]
          : [];
    return JSON.stringify({
      text: headline(d),
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*${escapeSlack(headline(d))}*` } },
        ...(fields.length > 0
          ? [
              {
                type: 'section',
                text: { type: 'mrkdwn', text: fields.map(escapeSlack).join('\n') },
              },
            ]
          : []),
      ],
    });
  }
  return JSON.stringify({ id: d.id, ...d.payload });
}

/** Slack's mrkdwn treats &, < and > as markup. */
const escapeSlack = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An email's subject and plain-text body. */
export function emailContent(d: DeliveryRecord): { subject: string; text: string } {
  const p = d.payload as Snapshot & { alert?: Record<string, unknown> };
  const lines = [headline(d), ''];
  if (p.alert)
    for (const [k, v] of Object.entries(p.alert))
      if (k !== 'evidence' && v !== null && v !== undefined)
        lines.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (p.alert?.['evidence'] !== undefined)
    lines.push('', 'evidence:', JSON.stringify(p.alert['evidence'], null, 2));
  lines.push('', `delivery: ${d.id}`);
  return { subject: `[Bulwark] ${headline(d)}`, text: lines.join('\n') + '\n' };
}
