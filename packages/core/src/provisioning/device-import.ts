/**
 * Registering devices in bulk (decision 0027): `bulwark device import devices.csv` and
 * `bulwark device register`. The whole request is checked before anything is written — every row
 * against the row schema, names unique within the request and against the organization's devices,
 * types in use (or declared new), locations known — and a refusal lists every bad row. Otherwise
 * every device and its one-time enrollment token are stored in one transaction. No key is made
 * here: each device enrolls later with a key it generates and keeps.
 */
import {
  BulwarkError,
  firstProblem,
  ImportDeviceRow,
  type ImportDevicesRequest,
  type ImportRowProblem,
} from '@bulwark/protocol';
import type { Clock } from '../ports/clock.js';
import type { Device, EnrollmentToken, Location } from '../ports/records.js';
import type { Storage } from '../ports/storage.js';
import type { LocationService } from '../devices/location-service.js';
import { randomToken, sha256Hex } from '../shared/hash.js';
import { newId } from '../shared/ids.js';

/** One device created by an import, with its token (shown once). */
export interface ImportedDevice {
  row: number;
  device: Device;
  token: string;
  expiresAt: number;
}

/** Refusals list at most this many rows (the rest are counted in the message). */
const MAX_REPORTED_ROWS = 1000;

/** Checks and applies imports. */
export class DeviceImportService {
  constructor(
    private readonly d: {
      storage: Storage;
      clock: Clock;
      locations: LocationService;
      /** Default lifetime of the enrollment tokens. */
      tokenTtlSeconds: number;
    },
  ) {}

  /** Checks every row; on any problem throws `import_invalid` with `rows`, else creates all. */
  async import(
    orgId: string,
    createdBy: string | null,
    req: ImportDevicesRequest,
  ): Promise<ImportedDevice[]> {
    const problems = new Map<number, ImportRowProblem>();
    const report = (i: number, name: string | null, error: string) => {
      const p = problems.get(i) ?? { row: i + 1, name, errors: [] };
      p.errors.push(error);
      problems.set(i, p);
    };
    const rows: (ImportDeviceRow | undefined)[] = req.devices.map((raw, i) => {
      const problem = firstProblem(ImportDeviceRow, raw, 'row');
      const name = typeof raw['name'] === 'string' ? raw['name'] : null;
      if (problem === null) return raw as ImportDeviceRow;
      report(i, name, problem);
      return undefined;
    });

    const seen = new Map<string, number>();
    rows.forEach((r, i) => {
      if (!r) return;
      const first = seen.get(r.name);
      if (first === undefined) seen.set(r.name, i);
      else report(i, r.name, `name '${r.name}' is also on row ${first + 1}`);
    });
    const names = [...seen.keys()];
    const taken = new Set(await this.d.storage.provisioning.existingDeviceNames(orgId, names));
    const types = [...new Set(rows.flatMap((r) => (r ? [r.type] : [])))];
    const known = new Set([
      ...(req.newTypes ?? []),
      ...(await this.d.storage.provisioning.existingDeviceTypes(orgId, types)),
    ]);
    const locations = await this.d.locations.list(orgId);
    const locationIds: (string | null)[] = rows.map((r, i) => {
      if (!r) return null;
      if (taken.has(r.name)) report(i, r.name, `a device named '${r.name}' already exists`);
      if (!known.has(r.type))
        report(
          i,
          r.name,
          `unknown type '${r.type}': no device of this type exists yet; declare it new (newTypes, --new-type ${r.type}) if it is not a typo`,
        );
      if (r.location === undefined) return null;
      const found = resolveLocation(locations, r.location);
      if (typeof found === 'string') return found;
      report(i, r.name, found.error);
      return null;
    });

    if (problems.size > 0) {
      const list = [...problems.values()].sort((a, b) => a.row - b.row);
      throw new BulwarkError(
        'import_invalid',
        `${list.length} of ${req.devices.length} rows are invalid; nothing was written`,
        { extra: { rows: list.slice(0, MAX_REPORTED_ROWS) } },
      );
    }

    const now = this.d.clock.now();
    const ttl = req.tokenTtlSeconds ?? this.d.tokenTtlSeconds;
    const out: ImportedDevice[] = rows.map((r, i) => {
      const row = r as ImportDeviceRow;
      return {
        row: i + 1,
        device: {
          id: newId(now),
          orgId,
          name: row.name,
          type: row.type,
          firmwareType: row.firmwareType ?? null,
          firmwareVersion: row.firmwareVersion ?? null,
          tags: row.tags ?? [],
          mode: row.mode ?? 'controlled',
          state: 'provisioned',
          locationId: locationIds[i] ?? null,
          lastSeenAt: null,
          createdAt: now,
          updatedAt: now,
        },
        token: `bwe_${randomToken(24)}`,
        expiresAt: now + ttl * 1000,
      };
    });
    const tokens: EnrollmentToken[] = out.map((o) => ({
      id: newId(now),
      orgId,
      deviceId: o.device.id,
      tokenHash: sha256Hex(o.token),
      createdBy,
      createdAt: now,
      expiresAt: o.expiresAt,
      usedAt: null,
    }));
    await this.d.storage.provisioning.importDevices(
      out.map((o) => o.device),
      tokens,
    );
    return out;
  }
}

/** A location by id, else by name (which must then be unique). */
function resolveLocation(all: readonly Location[], ref: string): string | { error: string } {
  const byId = all.find((l) => l.id === ref);
  if (byId) return byId.id;
  const named = all.filter((l) => l.name === ref);
  if (named.length === 1) return named[0]!.id;
  if (named.length > 1)
    return { error: `location name '${ref}' is ambiguous (${named.length} locations): use its id` };
  return { error: `unknown location '${ref}'` };
}
