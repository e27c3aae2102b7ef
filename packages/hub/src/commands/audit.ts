import { openLocal, parseLocal } from './local-context.js';

/** `bulwark audit verify`: walks the hash chain in the data dir's (or PostgreSQL's) audit log. */
export async function verifyAudit(argv: string[]): Promise<number> {
  const { config, values } = parseLocal(argv, { json: { type: 'boolean' } });
  const local = await openLocal(config);
  try {
    const verdict = await local.services.audit.verify();
    if (values['json']) process.stdout.write(JSON.stringify(verdict) + '\n');
    else if (verdict.ok)
      process.stdout.write(
        `audit log OK: ${verdict.count} events, chain intact up to row ${verdict.headSeq}\n`,
      );
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
