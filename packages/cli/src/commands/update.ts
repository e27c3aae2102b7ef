import { setTimeout as sleep } from 'node:timers/promises';
import type { UpdateJobView } from '@bulwark/protocol';
import { UPDATE_JOB_STATES, isTerminalUpdateState } from '@bulwark/protocol/lite';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields, formatTable, shortTime, type Column } from '../output.js';
import { endJobProgress, jobProgress } from './job-progress.js';
import { PAGE_OPTIONS, idArg, parseDuration, parsed, printList } from './management-args.js';

/** The job timeout the hub accepts (decision 0008): 1 s to 30 days. */
const MAX_TIMEOUT_SECONDS = 30 * 86_400;

const JOB_COLUMNS: Column<UpdateJobView>[] = [
  { header: 'ID', value: (j) => j.id },
  { header: 'DEVICE', value: (j) => j.deviceId },
  { header: 'ARTIFACT', value: (j) => j.artifactId },
  { header: 'STATE', value: (j) => j.state },
  { header: 'PROGRESS', value: (j) => progressText(j) },
  { header: 'REASON', value: (j) => j.reason },
  { header: 'CREATED', value: (j) => j.createdAt },
];

// States in which the image has been downloaded whole: the last progress report (devices report
// every so many bytes, not necessarily the last one) no longer says how far the download got.
const DOWNLOAD_DONE = new Set<string>([
  'downloaded',
  'installing',
  'rebooting',
  'succeeded',
  'rolled_back',
]);

function progressText(j: UpdateJobView): string | null {
  if (DOWNLOAD_DONE.has(j.state)) return 'done';
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
        : DOWNLOAD_DONE.has(j.state)
          ? `downloaded (${j.progress.total} bytes)`
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
    ['created', `${shortTime(j.createdAt)} by ${j.createdBy}`],
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

// Polling while waiting: the first pause, doubling up to the longest.
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 2000;

/**
 * Waits for a job to finish, showing its progress on stderr (jobs may wait hours for their
 * device), and prints it; exit 0 only when it succeeded. Bounded by the job's deadline.
 */
async function waitAndShow(ctx: Context, job: UpdateJobView): Promise<number> {
  const timeoutMs = Math.max(0, Date.parse(job.deadline) - Date.now()) + WAIT_GRACE_MS;
  const end = Date.now() + timeoutMs;
  const tty = process.stderr.isTTY === true && !ctx.json;
  const report = jobProgress((t) => ctx.io.err(t), tty);
  const client = ctx.client();
  let done = job;
  let interval = POLL_FIRST_MS;
  for (;;) {
    report(done);
    if (isTerminalUpdateState(done.state)) break;
    const left = end - Date.now();
    if (left <= 0) {
      endJobProgress((t) => ctx.io.err(t), tty);
      show(ctx, done);
      throw new CliError(
        `update job ${done.id} is still ${done.state} after ${Math.round(timeoutMs / 1000)} s ` +
          `(see \`bulwark update job ${done.id}\`)`,
      );
    }
    await sleep(Math.min(interval, left));
    interval = Math.min(interval * 2, POLL_MAX_MS);
    done = await client.updates.get(done.id);
  }
  endJobProgress((t) => ctx.io.err(t), tty);
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
    ids: { DEVICE: 'device' },
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
      const [deviceArg, artifactArg] = ctx.args;
      if (deviceArg === undefined || artifactArg === undefined)
        throw ctx.usage('missing DEVICE ARTIFACT');
      const device = idArg(ctx, 'DEVICE', deviceArg, 'bulwark device list');
      const artifact = idArg(ctx, 'ARTIFACT', artifactArg, 'bulwark firmware list');
      const timeout = ctx.str('timeout');
      const timeoutSeconds =
        timeout === undefined ? undefined : parsed(ctx, () => parseDuration(timeout));
      if (
        timeoutSeconds !== undefined &&
        (timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS)
      )
        throw ctx.usage(`--timeout ${timeout} is out of range (1s to 30d)`);
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
    summary:
      'Cancel an update job that has not started installing (a request the device confirms or refuses, unless queued).',
    options: {
      force: {
        type: 'boolean',
        help: 'end it canceled at once in any open state, without the device (one that is gone)',
      },
    },
    run: async (ctx) =>
      show(ctx, await ctx.client().updates.cancel(ctx.args[0] ?? '', { force: ctx.flag('force') })),
  },
];
