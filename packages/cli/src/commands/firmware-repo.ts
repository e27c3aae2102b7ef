import { createReadStream, statSync } from 'node:fs';
import type { OperationOutput } from '@bulwark/protocol';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { formatFields, formatTable, listJson, type Column } from '../output.js';
import { readJson } from './read-json.js';

type Signed = { signed: Record<string, unknown>; signatures: unknown[] };
type FirmwareArtifactView = OperationOutput<'getArtifact'>;

const ARTIFACT_COLUMNS: Column<FirmwareArtifactView>[] = [
  { header: 'ID', value: (a) => a.id },
  { header: 'NAME', value: (a) => a.name },
  { header: 'VERSION', value: (a) => a.version },
  { header: 'COUNTER', value: (a) => a.releaseCounter },
  { header: 'TYPES', value: (a) => a.types.join(',') },
  { header: 'BYTES', value: (a) => a.length },
  { header: 'STATE', value: (a) => a.state },
  { header: 'CREATED', value: (a) => a.createdAt },
];

const showArtifact = (ctx: Context, a: FirmwareArtifactView) =>
  ctx.print(a, () =>
    formatFields([
      ['id', a.id],
      ['name', a.name],
      ['version', a.version],
      ['release counter', a.releaseCounter],
      ['types', a.types.join(', ')],
      ['hardware', a.hardware.length > 0 ? a.hardware.join(', ') : '(any)'],
      ['bytes', a.length],
      ['sha256', a.sha256],
      ['state', a.state],
    ]),
  );

/**
 * Reports upload progress on stderr: a redrawn bar on a terminal, a line per quarter otherwise
 * (so logs of CI jobs stay short).
 */
function progress(ctx: Context, total: number): (sent: number) => void {
  const tty = process.stderr.isTTY === true && !ctx.json;
  let lastQuarter = -1;
  return (sent) => {
    const pct = total === 0 ? 100 : Math.floor((sent / total) * 100);
    if (tty) {
      const width = 30;
      const done = Math.round((pct / 100) * width);
      ctx.io.err(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${pct}%  ${sent}/${total} B`);
      if (sent >= total) ctx.io.err('\n');
      return;
    }
    const quarter = Math.floor(pct / 25);
    if (quarter !== lastQuarter) {
      lastQuarter = quarter;
      ctx.io.err(`uploaded ${pct}% (${sent}/${total} bytes)\n`);
    }
  };
}

/** Streams a file's chunks, calling `onSent` with the running total. */
async function* chunksOf(file: string, onSent: (n: number) => void): AsyncIterable<Uint8Array> {
  let sent = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
    const bytes = chunk as Buffer;
    sent += bytes.length;
    yield bytes;
    onSent(sent);
  }
}

/** `bulwark firmware upload|list|delete|root push`: the hub's firmware repository. */
export const firmwareRepoCommands: Command[] = [
  {
    path: ['firmware', 'root', 'push'],
    args: ['ROOT'],
    summary: "Install (first use) or rotate the organization's trusted TUF root (root.json).",
    run: async (ctx) => {
      const root = readJson(ctx.args[0] ?? '') as Signed;
      const r = await ctx.client().firmware.pushRoot(root);
      ctx.print(r, () => 'trusted root installed\n');
    },
  },
  {
    path: ['firmware', 'upload'],
    args: ['IMAGE', 'META'],
    summary:
      'Upload an image and its signed release metadata; the hub verifies both before accepting.',
    run: async (ctx) => {
      const [image = '', metaFile = ''] = ctx.args;
      let length: number;
      try {
        length = statSync(image).size;
      } catch (err) {
        throw new CliError(`cannot read ${image}: ${(err as Error).message}`);
      }
      const meta = readJson(metaFile) as Signed;
      const client = ctx.client();
      const pending = await client.firmware.create(meta);
      const artifact = await client.firmware.uploadImage(
        pending.id,
        chunksOf(image, progress(ctx, length)),
      );
      showArtifact(ctx, artifact);
    },
  },
  {
    path: ['firmware', 'delete'],
    args: ['ID'],
    summary: 'Delete an artifact (e.g. one left pending by a refused image, to upload it again).',
    run: async (ctx) => {
      const id = ctx.args[0] ?? '';
      await ctx.client().firmware.delete(id);
      ctx.print({ deleted: id }, () => `deleted ${id}\n`);
    },
  },
  {
    path: ['firmware', 'list'],
    summary: "List the organization's firmware artifacts, newest first.",
    options: {
      limit: { type: 'string', value: 'N', help: 'page size' },
      cursor: { type: 'string', value: 'C', help: 'continue from a previous page' },
    },
    run: async (ctx) => {
      const page = await ctx.client().firmware.list({
        ...(ctx.int('limit') !== undefined ? { limit: ctx.int('limit') } : {}),
        ...(ctx.str('cursor') !== undefined ? { cursor: ctx.str('cursor') } : {}),
      });
      ctx.print(listJson(page.items, page.nextCursor), () => {
        const more = page.nextCursor === null ? '' : `(more: --cursor ${page.nextCursor})\n`;
        return formatTable(page.items, ARTIFACT_COLUMNS) + more;
      });
    },
  },
];
