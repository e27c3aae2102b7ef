/**
 * What the agent told the hub about its update jobs (`update/jobs.json`): the last state reported
 * for the job in progress (so a restart re-sends only what the hub may not have), and the final
 * report of the last finished jobs (so a re-delivered offer gets the same answer, not a second
 * install).
 */
import type { UpdateStatusReport } from '@bulwark/protocol';
import type { AgentFiles } from '../ports.js';

const NAME = 'update/jobs.json';
/** Finished jobs remembered: a re-delivery comes soon after, and the file stays small. */
const DONE_MAX = 32;
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Stored {
  reported?: { job: string; state: string };
  done: { id: string; report: UpdateStatusReport }[];
}

/** The job log in the agent's files. */
export class JobLog {
  private data: Stored = { done: [] };

  constructor(private readonly files: AgentFiles) {}

  async load(): Promise<void> {
    const raw = await this.files.read(NAME);
    if (raw === undefined) return;
    try {
      const d = JSON.parse(dec.decode(raw)) as Stored;
      if (Array.isArray(d.done)) this.data = d;
    } catch {
      // A damaged log only costs a repeated report; start afresh.
    }
  }

  /** The final report of a finished job, if it is one of the last few. */
  finished(id: string): UpdateStatusReport | undefined {
    return this.data.done.find((d) => d.id === id)?.report;
  }

  /** Was `state` already reported for `job`? */
  reported(job: string, state: string): boolean {
    const r = this.data.reported;
    return r !== undefined && r.job === job && r.state === state;
  }

  async noteReported(job: string, state: string): Promise<void> {
    this.data = { ...this.data, reported: { job, state } };
    await this.save();
  }

  async noteFinished(id: string, report: UpdateStatusReport): Promise<void> {
    const done = [...this.data.done.filter((d) => d.id !== id), { id, report }].slice(-DONE_MAX);
    this.data = { reported: { job: id, state: report.state }, done };
    await this.save();
  }

  private save(): Promise<void> {
    return this.files.write(NAME, enc.encode(JSON.stringify(this.data)));
  }
}
