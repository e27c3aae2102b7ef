/**
 * `bulwark device register` and `bulwark device import` (decision 0027): devices registered with
 * their one-time enrollment tokens and no key made here — each device generates its own key and
 * enrolls with its token later (`bulwark agent`, `bulwark device enroll`). An import is checked
 * whole by the hub and written in one transaction, or not at all with a reason per row.
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ImportDeviceRow, ImportDevicesResponse, ImportRowProblem } from '@bulwark/protocol';
import { IMPORT_MAX_ROWS } from '@bulwark/protocol/lite';
import { ApiError } from '@bulwark/sdk';
import type { Command, Context } from '../command.js';
import { CliError } from '../errors.js';
import { csvField, parseCsv } from '../csv.js';
import { formatFields, formatTable } from '../output.js';

/** CSV headers → row fields (case and `-`/`_` ignored). */
const COLUMNS: Readonly<Record<string, keyof ImportDeviceRow>> = {
  name: 'name',
  type: 'type',
  tags: 'tags',
  location: 'location',
  mode: 'mode',
  firmwaretype: 'firmwareType',
  firmwareversion: 'firmwareVersion',
};

const TTL = {
  type: 'string',
  value: 'SECONDS',
  help: 'lifetime of the enrollment tokens (60-2592000, default the hub’s: 3600)',
} as const;

/** A file written 0600 that must not exist yet (the tokens are secrets). */
function writeSecret(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST')
      throw new CliError(`${path} already exists; it is not overwritten`);
    throw err;
  }
}

/** The tokens as the report file holds them: CSV for a `.csv` name, else JSON. */
function reportText(
  path: string,
  r: { line: number; item: ImportDevicesResponse['devices'][number] }[],
) {
  if (path.endsWith('.csv'))
    return (
      'line,name,id,token,expires_at\n' +
      r
        .map(({ line, item }) =>
          [String(line), item.name, item.id, item.token, item.expiresAt].map(csvField).join(','),
        )
        .join('\n') +
      '\n'
    );
  return (
    JSON.stringify({ devices: r.map(({ line, item }) => ({ line, ...item })) }, null, 2) + '\n'
  );
}

/** Rows of a CSV file, or the problems found before asking the hub. */
function rowsOf(text: string): {
  rows: ImportDeviceRow[];
  lines: number[];
  problems: ImportRowProblem[];
} {
  const records = parseCsv(text);
  const header = records.shift();
  if (!header) throw new CliError('the file is empty: it needs a header line (name,type,…)');
  const keys = header.fields.map((h) => COLUMNS[h.trim().toLowerCase().replace(/[-_ ]/g, '')]);
  const unknown = header.fields.filter((_, i) => keys[i] === undefined);
  if (unknown.length > 0)
    throw new CliError(
      `unknown column(s) ${unknown.map((u) => `'${u}'`).join(', ')}; the columns are name, type, tags, location, mode, firmware_type, firmware_version`,
    );
  for (const need of ['name', 'type'] as const)
    if (!keys.includes(need)) throw new CliError(`the header has no '${need}' column`);
  if (records.length === 0) throw new CliError('the file has a header but no devices');
  if (records.length > IMPORT_MAX_ROWS)
    throw new CliError(
      `${records.length} devices: one import takes at most ${IMPORT_MAX_ROWS} (one transaction); split the file`,
    );
  const problems: ImportRowProblem[] = [];
  const rows = records.map((rec) => {
    const row: Record<string, unknown> = {};
    if (rec.fields.length !== keys.length)
      problems.push({
        row: rec.line,
        name: null,
        errors: [`${rec.fields.length} fields where the header has ${keys.length}`],
      });
    rec.fields.forEach((raw, i) => {
      const key = keys[i];
      const v = raw.trim();
      if (key === undefined || v === '') return;
      // Tags are separated by `;` or spaces (a comma would end the CSV field).
      row[key] = key === 'tags' ? v.split(/[;\s]+/).filter((x) => x !== '') : v;
    });
    return row as ImportDeviceRow;
  });
  return { rows, lines: records.map((r) => r.line), problems };
}

/** Prints a per-row refusal; exit code 1. */
function refuse(ctx: Context, file: string, problems: ImportRowProblem[], detail: string): number {
  ctx.print(
    { ok: false, detail, rows: problems },
    () =>
      `${detail}\n` +
      problems
        .map((p) => `${file}:${p.row}${p.name ? ` (${p.name})` : ''}: ${p.errors.join('; ')}\n`)
        .join(''),
  );
  return 1;
}

/** `bulwark device register|import`. */
export const deviceImportCommands: Command[] = [
  {
    path: ['device', 'register'],
    args: ['NAME'],
    summary:
      'Register a device and issue its one-time enrollment token; no key is made here (the device makes its own and enrolls with the token).',
    options: {
      type: { type: 'string', value: 'T', help: 'the device type (required)' },
      tag: { type: 'string', multiple: true, value: 'X', help: 'a tag (repeatable)' },
      location: { type: 'string', value: 'L', help: 'the location: its id or its unique name' },
      mode: { type: 'string', value: 'M', help: 'autonomous or controlled (default controlled)' },
      'firmware-type': { type: 'string', value: 'F', help: 'the firmware type it runs' },
      ttl: TTL,
      'token-file': {
        type: 'string',
        value: 'FILE',
        help: 'write the token to FILE (0600, must not exist) instead of printing it',
      },
    },
    run: async (ctx) => {
      const row: ImportDeviceRow = { name: ctx.args[0] ?? '', type: ctx.need('type') };
      const tags = ctx.strs('tag');
      if (tags.length > 0) row.tags = tags;
      const location = ctx.str('location');
      if (location !== undefined) row.location = location;
      const mode = ctx.choice('mode', ['autonomous', 'controlled'] as const);
      if (mode !== undefined) row.mode = mode;
      const fw = ctx.str('firmware-type');
      if (fw !== undefined) row.firmwareType = fw;
      const ttl = ctx.int('ttl');
      const tokenFile = ctx.str('token-file');
      let out: ImportDevicesResponse;
      try {
        out = await ctx.client().provisioning.importDevices({
          devices: [row],
          // Registering one device names its type on purpose: it may be the first of it.
          newTypes: [row.type],
          ...(ttl === undefined ? {} : { tokenTtlSeconds: ttl }),
        });
      } catch (err) {
        // One row: say what is wrong with it as the error itself.
        const rows = err instanceof ApiError ? err.problem['rows'] : undefined;
        if (Array.isArray(rows) && rows.length > 0)
          throw new CliError((rows as ImportRowProblem[])[0]!.errors.join('; '));
        throw err;
      }
      const d = out.devices[0]!;
      if (tokenFile !== undefined) writeSecret(resolve(ctx.io.cwd, tokenFile), `${d.token}\n`);
      const shown = tokenFile === undefined ? d : { ...d, token: undefined, tokenFile };
      ctx.print(shown, () =>
        formatFields([
          ['id', d.id],
          ['name', d.name],
          tokenFile === undefined ? ['token', d.token] : ['token file', tokenFile],
          ['expires', d.expiresAt],
          [
            'next',
            'on the device: bulwark agent with enrollment.token (or bulwark device enroll --token T)',
          ],
        ]),
      );
    },
  },
  {
    path: ['device', 'import'],
    args: ['FILE'],
    summary:
      'Register up to 1,000 devices from a CSV file (name,type,tags,location,mode,firmware_type,firmware_version) in one transaction: every row is checked first, a bad row writes nothing and the report says why per row.',
    options: {
      out: {
        type: 'string',
        value: 'FILE',
        help: 'write ids and enrollment tokens to FILE (0600, must not exist; CSV for *.csv, else JSON)',
      },
      'new-type': {
        type: 'string',
        multiple: true,
        value: 'T',
        help: 'a device type the import introduces (else every type must already be in use)',
      },
      ttl: TTL,
    },
    run: async (ctx) => {
      const file = ctx.args[0] ?? '';
      const outFile = ctx.str('out');
      // The tokens are secrets: they go to a file or, asked for, to stdout — never to a log.
      if (outFile === undefined && !ctx.json)
        throw ctx.usage('give --out FILE for the enrollment tokens (or --json to print them)');
      let text: string;
      try {
        text = await readFile(resolve(ctx.io.cwd, file), 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
      }
      let parsed: ReturnType<typeof rowsOf>;
      try {
        parsed = rowsOf(text);
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`${file}: ${(err as Error).message}`);
      }
      const { rows, lines, problems } = parsed;
      if (problems.length > 0)
        return refuse(
          ctx,
          file,
          problems,
          `${problems.length} of ${rows.length} rows are invalid; nothing was sent`,
        );
      const newTypes = ctx.strs('new-type');
      const ttl = ctx.int('ttl');
      let out: ImportDevicesResponse;
      try {
        out = await ctx.client().provisioning.importDevices({
          devices: rows,
          ...(newTypes.length > 0 ? { newTypes } : {}),
          ...(ttl === undefined ? {} : { tokenTtlSeconds: ttl }),
        });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'import_invalid') {
          const byRow = (err.problem['rows'] ?? []) as ImportRowProblem[];
          // The hub numbers rows of the request; the report names the file's lines.
          const mapped = byRow.map((p) => ({ ...p, row: lines[p.row - 1] ?? p.row }));
          return refuse(ctx, file, mapped, err.message);
        }
        throw err;
      }
      const report = out.devices.map((item) => ({ line: lines[item.row - 1] ?? item.row, item }));
      if (outFile !== undefined)
        writeSecret(resolve(ctx.io.cwd, outFile), reportText(outFile, report));
      const listed = report.map(({ line, item }) => ({
        line,
        id: item.id,
        name: item.name,
        expiresAt: item.expiresAt,
        ...(outFile === undefined ? { token: item.token } : {}),
      }));
      ctx.print(
        { ok: true, created: listed.length, ...(outFile ? { out: outFile } : {}), devices: listed },
        () =>
          formatTable(listed, [
            { header: 'LINE', value: (r) => r.line },
            { header: 'ID', value: (r) => r.id },
            { header: 'NAME', value: (r) => r.name },
            { header: 'TOKEN EXPIRES', value: (r) => r.expiresAt },
          ]) +
          `${listed.length} devices registered; their enrollment tokens are in ${outFile ?? 'the JSON'}\n`,
      );
    },
  },
];
