/**
 * What `bulwark update deploy|job --wait` shows on stderr while it waits: one line redrawn in place
 * on a terminal, otherwise a line per state change and per quarter of the download, so a pipe or a
 * CI log shows the job moving without a line per poll.
 */
import type { UpdateJobView } from '@bulwark/protocol';

/** `job ID: STATE`, with the download's percentage and bytes while it downloads. */
export function jobProgressText(j: Pick<UpdateJobView, 'id' | 'state' | 'progress'>): string {
  const p = j.progress;
  const download =
    j.state === 'downloading' && p !== null && p.total > 0
      ? ` ${Math.floor((100 * p.bytes) / p.total)}% (${p.bytes}/${p.total} bytes)`
      : '';
  return `job ${j.id}: ${j.state}${download}`;
}

/** A reporter fed every polled job; it writes through `err` only when there is something new. */
export function jobProgress(
  err: (text: string) => void,
  tty: boolean,
): (j: Pick<UpdateJobView, 'id' | 'state' | 'progress'>) => void {
  let last = '';
  let lastStep = '';
  return (j) => {
    const text = jobProgressText(j);
    if (tty) {
      if (text !== last) err(`\r\x1b[K${text}`);
      last = text;
      return;
    }
    const p = j.progress;
    const quarter =
      j.state === 'downloading' && p !== null && p.total > 0
        ? Math.floor((4 * p.bytes) / p.total)
        : -1;
    const step = `${j.state}/${quarter}`;
    if (step !== lastStep) err(`${text}\n`);
    lastStep = step;
  };
}

/** Ends a redrawn terminal line before the result is printed. */
export function endJobProgress(err: (text: string) => void, tty: boolean): void {
  if (tty) err('\n');
}
