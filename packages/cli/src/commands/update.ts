import { UPDATE_JOB_STATES, type UpdateJobView } from '@bulwark/protocol';
import { UpdateWaitTimeout } from '@bulwark/sdk';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields, formatTable, type Column } from '../output.js';
import { PAGE_OPTIONS, parseDuration, parsed, printList } from './management-args.js';

const JOB_COLUMNS: Column<UpdateJobView>[] = [
  { header: 'ID', value: (j) => j.id },
  { header: 'DEVICE', value: (j) => j.deviceId },
  { header: 'ARTIFACT', value: (j) => j.artifactId },
  { header: 'STATE', value: (j) => j.state },
  { header: 'PROGRESS', value: (j) => progressText(j) },
  { header: 'REASON', value: (j) => j.reason },
  { header: 'CREATED', value: (j) => j.createdAt },
];

function progressText(j: UpdateJobView): string | null {
  if (j.progress === null || j.progress.total === 0) return null;
  return `${Math.floor((100 * j.progress.bytes) / j.progress.total)}%`;
}

/** A job as label/value lines, then its state history with reasons. */
export function formatUpdateJob(j: UpdateJobView): string {
  const fields = formatFields([
    ['id', j.id],
    ['action id', j.actionId],
    ['device', j.deviceId],
    ['artifact', j.artifactId],
    ['rollout', j.rolloutId],
    ['origin', j.origin],
    ['state', j.state],
    [
      'progress',
      j.progress === null
        ? null
        : `${j.progress.bytes}/${j.progress.total} bytes (${progressText(j) ?? '-'})`,
    ],
    ['reason', j.reason],
    ['message', j.message],
    [
      'delta',
      j.delta === null
        ? null
        : `${j.delta.downloadedBytes} of ${j.delta.totalBytes} bytes downloaded, ${j.delta.reusedBytes} reused`,
    ],
    ['deadline', j.deadline],
    ['created', `${j.createdAt} by ${j.createdBy}`],
    ['updated', j.updatedAt],
  ]);
  return `${fields}history:\n${formatTable(j.history, [
    { header: 'STATE', value: (h) => h.state },
    { header: 'AT', value: (h) => h.at },
    { header: 'REASON', value: (h) => h.reason },
    { header: 'MESSAGE', value: (h) => h.message },
    { header: 'BY', value: (h) => h.by },
  ])}`;
}

const show = (ctx: Context, j: UpdateJobView): void => ctx.print(j, () => formatUpdateJob(j));

// After the deadline the hub times an open job out on its next sweep (every ~2 s).
const WAIT_GRACE_MS = 5000;

/** Waits for a job to finish and prints it; exit 0 only when it succeeded. */
async function waitAndShow(ctx: Context, job: UpdateJobView): Promise<number> {
  const timeoutMs = Math.max(0, Date.parse(job.deadline) - Date.now()) + WAIT_GRACE_MS;
  let done: UpdateJobView;
  try {
    done = await ctx.client().updates.wait(job.id, { timeoutMs });
  } catch (err) {
    if (!(err instanceof UpdateWaitTimeout)) throw err;
    show(ctx, err.job);
    throw new CliError(`${err.message} (see \`bulwark update job ${job.id}\`)`);
  }
  show(ctx, done);
  if (done.state === 'succeeded') return 0;
  ctx.io.err(`update job ${done.id} ${done.state}${done.reason ? `: ${done.reason}` : ''}\n`);
  return 1;
}

/** `bulwark update deploy|jobs|job|cancel`: firmware update jobs (decision 0008). */
export const updateCommands: Command[] = [
  {
    path: ['update', 'deploy'],
    args: ['DEVICE', 'ARTIFACT'],
    summary: 'Deploy a ready firmware artifact to one device (offered when it is connected).',
    options: {
      timeout: {
        type: 'string',
        value: 'DURATION',
        help: 'time to finish, e.g. 30m, 2h, 1d (default 24h, at most 30d)',
      },
      wait: {
        type: 'boolean',
        help: 'wait until the job finishes; exit 1 unless it succeeded',
      },
    },
    run: async (ctx) => {
      const [device, artifact] = ctx.args;
      if (device === undefined || artifact === undefined) throw ctx.usage('DEVICE ARTIFACT');
      const timeout = ctx.str('timeout');
      const timeoutSeconds =
        timeout === undefined ? undefined : parsed(ctx, () => parseDuration(timeout));
      const job = await ctx
        .client()
        .updates.deploy(device, artifact, timeoutSeconds === undefined ? {} : { timeoutSeconds });
      if (!ctx.flag('wait')) return show(ctx, job);
      return waitAndShow(ctx, job);
    },
  },
  {
    path: ['update', 'jobs'],
    summary: 'List update jobs, newest first.',
    options: {
      device: { type: 'string', value: 'ID', help: "only this device's jobs" },
      rollout: { type: 'string', value: 'ID', help: "only this rollout's jobs" },
      artifact: { type: 'string', value: 'ID', help: 'only jobs of this artifact' },
      state: {
        type: 'string',
        value: 'S',
        help: `only jobs in this state (${UPDATE_JOB_STATES.join(', ')})`,
      },
      ...PAGE_OPTIONS,
    },
    run: async (ctx) => {
      const query = {
        deviceId: ctx.str('device'),
        rolloutId: ctx.str('rollout'),
        artifactId: ctx.str('artifact'),
        state: ctx.choice('state', UPDATE_JOB_STATES),
        limit: ctx.int('limit'),
      };
      const client = ctx.client();
      await printList(
        ctx,
        JOB_COLUMNS,
        (cursor) => client.updates.list({ ...query, cursor }),
        () => client.updates.all(query),
      );
    },
  },
  {
    path: ['update', 'job'],
    args: ['ID'],
    summary: 'Show one update job and its state history with reasons.',
    options: {
      wait: { type: 'boolean', help: 'wait until it finishes; exit 1 unless it succeeded' },
    },
    run: async (ctx) => {
      const j = await ctx.client().updates.get(ctx.args[0] ?? '');
      if (ctx.flag('wait')) return waitAndShow(ctx, j);
      show(ctx, j);
    },
  },
  {
    path: ['update', 'cancel'],
    args: ['ID'],
    summary: 'Cancel an update job that has not started installing.',
    run: async (ctx) => show(ctx, await ctx.client().updates.cancel(ctx.args[0] ?? '')),
  },
];
