/** The shape of a `bulwark doctor` report: one verdict per check, and how it is printed. */

/** A check's verdict: `skip` when it does not apply or cannot run (the hub is down). */
export type Status = 'pass' | 'warn' | 'fail' | 'skip';

/** One check's result: a stable id, a verdict and a sentence saying what was seen. */
export interface Check {
  id: string;
  status: Status;
  detail: string;
}

/** The whole report; `ok` is false when any check failed. */
export interface Report {
  ok: boolean;
  dataDir: string;
  checks: Check[];
}

export const check = (id: string, status: Status, detail: string): Check => ({
  id,
  status,
  detail,
});

/** A report from its checks. */
export function report(dataDir: string, checks: Check[]): Report {
  return { ok: !checks.some((c) => c.status === 'fail'), dataDir, checks };
}

/** The report as aligned text lines, verdict first, and a last line with the counts. */
export function formatReport(r: Report): string {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = r.checks.map(
    (c) => `${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.detail}`,
  );
  const count = (s: Status) => r.checks.filter((c) => c.status === s).length;
  lines.push(
    `${count('pass')} passed, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped (data dir ${r.dataDir})`,
  );
  return lines.join('\n') + '\n';
}
