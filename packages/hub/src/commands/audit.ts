import type { AuditVerdict } from '@bulwark/core';
import { openLocal, parseLocal } from './local-context.js';

/** An intact chain, and how much of it is keyed (decision 0016). */
function describeOk(v: Extract<AuditVerdict, { ok: true }>): string {
  const lines = [`audit log OK: ${v.count} events, chain intact up to row ${v.headSeq}`];
  if (v.headSeq === 0) return lines.join('\n') + '\n';
  if (v.keyedFrom <= v.headSeq) {
    lines[0] += `, keyed (HMAC) from row ${v.keyedFrom}`;
    if (v.keyedFrom > 1)
      lines.push(`rows 1-${v.keyedFrom - 1} predate keying: plain SHA-256, checked as such`);
  } else {
    lines.push(
      `WARNING: no row is keyed (keying starts at row ${v.keyedFrom}). If this hub has written events since it was upgraded, the log was rewritten.`,
    );
  }
  return lines.join('\n') + '\n';
}

/** `bulwark audit verify`: walks the hash chain in the data dir's (or PostgreSQL's) audit log. */
export async function verifyAudit(argv: string[]): Promise<number> {
  const { config, values } = parseLocal(argv, { json: { type: 'boolean' } });
  const local = await openLocal(config);
  try {
    const verdict = await local.services.audit.verify();
    if (values['json']) process.stdout.write(JSON.stringify(verdict) + '\n');
    else if (verdict.ok) process.stdout.write(describeOk(verdict));
    else {
      process.stdout.write(
        `audit log BROKEN at row ${verdict.seq}${verdict.id ? ` (id ${verdict.id})` : ''}: ${verdict.reason}\n` +
          `(${verdict.count} rows before it verified)\n`,
      );
    }
    return verdict.ok ? 0 : 1;
  } finally {
    await local.close();
  }
}
