/**
 * The device side of the twin: handlers registered by section (`network`, `logging`, …) validate
 * and apply desired values; what was applied is persisted (a restart keeps it) and reported with
 * the desired version it answers and one error per value that could not be applied — an unknown
 * section, a value of the wrong type, a handler that failed. Nothing is silently ignored.
 */
import type { DesiredTwin, ReportedTwin, TwinError, TwinState, TwinValue } from '@bulwark/protocol';
import type { AgentFiles } from '../ports.js';

/** The type of one parameter. */
export type ParamType = 'string' | 'number' | 'integer' | 'boolean' | 'string[]' | 'object' | 'any';

/** One parameter of a section. */
export interface ParamSpec {
  type: ParamType;
  min?: number;
  max?: number;
  enum?: readonly string[];
  default?: TwinValue;
  /**
   * A `string[]` that only grows (e.g. revoked ticket ids): a new value is merged into the old
   * one, never replaces it, so no desired twin, command or local `set` can remove an entry. An
   * entry the source no longer lists is dropped once `retainMs` has passed since the device first
   * saw it (when whatever it names has surely expired).
   */
  appendOnly?: { retainMs: number };
  /** Not settable on the local management port, at any ticket level (security settings). */
  localReadOnly?: boolean;
}

type Section = { [key: string]: TwinValue };

/** A section's handler: its parameters and what to do when they change. */
export interface SectionHandler {
  params: { [key: string]: ParamSpec };
  /** Called with the section's new and previous values; throwing refuses the change. */
  apply?(next: Section, prev: Section): void | Promise<void>;
  /** No parameter of the section is settable on the local management port (security sections). */
  localReadOnly?: boolean;
}

/** A value the handlers refused; the message is readable by a person. */
export class TwinSetError extends Error {
  readonly code: 'invalid_params' | 'read_only' = 'invalid_params';
}

/** A local `set` of a security setting, which only the hub may change. */
export class TwinReadOnlyError extends TwinSetError {
  override readonly code = 'read_only';
}

const FILE = 'twin/applied.json';
const enc = new TextEncoder();
const dec = new TextDecoder();

const show = (v: unknown) => (JSON.stringify(v) ?? String(v)).slice(0, 80);

/** Checks a value against its spec; returns why it is refused, or undefined. */
export function checkParam(spec: ParamSpec, v: TwinValue): string | undefined {
  const range = () =>
    typeof v === 'number' &&
    ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max))
      ? `must be from ${spec.min ?? '-∞'} to ${spec.max ?? '∞'}, got ${v}`
      : undefined;
  switch (spec.type) {
    case 'string':
      if (typeof v !== 'string') return `expected a string, got ${show(v)}`;
      if (spec.enum && !spec.enum.includes(v))
        return `must be one of ${spec.enum.join(', ')}, got ${show(v)}`;
      return undefined;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v)
        ? range()
        : `expected a number, got ${show(v)}`;
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v)
        ? range()
        : `expected an integer, got ${show(v)}`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `expected true or false, got ${show(v)}`;
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string')
        ? undefined
        : `expected an array of strings, got ${show(v)}`;
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? undefined
        : `expected an object, got ${show(v)}`;
    case 'any':
      return undefined;
  }
}

interface Persisted {
  desiredVersion: number;
  reportedVersion: number;
  state: TwinState;
  /** Append-only parameters: when each entry was first seen (epoch ms), by `section.key`. */
  firstSeen?: Record<string, Record<string, number>>;
}

/** The twin: registry of section handlers, applied state, reports. */
export class Twin {
  private readonly handlers = new Map<string, SectionHandler>();
  private applied: TwinState = {};
  private desiredVersion = 0;
  private reportedVersion = 0;
  private lastErrors: TwinError[] = [];
  private firstSeen: Record<string, Record<string, number>> = {};
  /** Every change runs in this chain, so two applies never interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly files: AgentFiles,
    /** Sends a report (queued durably by the agent). */
    private readonly send: (report: ReportedTwin) => Promise<void>,
    /** The device clock (epoch ms), for append-only retention. */
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers a section (built-ins at construction; apps before or after start). */
  register(name: string, handler: SectionHandler): void {
    if (!/^[a-z][a-zA-Z0-9_-]{0,62}$/.test(name))
      throw new TypeError(`invalid section name ${name}`);
    if (this.handlers.has(name)) throw new TypeError(`section ${name} is already registered`);
    this.handlers.set(name, handler);
  }

  /** Loads what a previous run applied, and hands it to each handler. */
  async load(): Promise<void> {
    const bytes = await this.files.read(FILE);
    if (bytes !== undefined) {
      try {
        const p = JSON.parse(dec.decode(bytes)) as Persisted;
        this.applied = p.state ?? {};
        this.firstSeen = p.firstSeen ?? {};
        this.desiredVersion = p.desiredVersion ?? 0;
        this.reportedVersion = p.reportedVersion ?? 0;
      } catch {
        // A file that does not parse cannot come from an atomic write; start from defaults.
        this.applied = {};
      }
    }
    for (const [name, h] of this.handlers) {
      try {
        await h.apply?.(this.section(name), {});
      } catch {
        /* the stored value failed to apply on this boot; it stays reported as applied state */
      }
    }
  }

  /** Resets to defaults (factory reset). */
  reset(): void {
    this.applied = {};
    this.firstSeen = {};
    this.desiredVersion = 0;
    this.reportedVersion = 0;
    this.lastErrors = [];
  }

  /** A section's values: defaults overlaid with what was applied. */
  section(name: string): Section {
    const h = this.handlers.get(name);
    const out: Section = {};
    for (const [k, spec] of Object.entries(h?.params ?? {}))
      if (spec.default !== undefined) out[k] = spec.default;
    const applied = this.applied[name];
    if (applied && typeof applied === 'object' && !Array.isArray(applied))
      Object.assign(out, applied);
    return out;
  }

  /** The applied state of every registered section. */
  state(): TwinState {
    const out: TwinState = {};
    for (const name of this.handlers.keys()) out[name] = this.section(name);
    return out;
  }

  /** The desired version last processed. */
  get version(): number {
    return this.desiredVersion;
  }

  /** One value by dotted path (`logging.level`). */
  get(path: string): TwinValue | undefined {
    let v: TwinValue | undefined = this.state();
    for (const level of path.split('.')) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
      v = v[level];
    }
    return v;
  }

  /** Every parameter, flattened to `section.key`. */
  list(): Record<string, TwinValue> {
    const out: Record<string, TwinValue> = {};
    for (const [s, values] of Object.entries(this.state()))
      for (const [k, v] of Object.entries(values as Section)) out[`${s}.${k}`] = v;
    return out;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Validates and applies a set of sections; returns the errors by path. Valid values of a section
   * are applied even when a sibling value is refused.
   */
  private async applyState(state: TwinState): Promise<TwinError[]> {
    const errors: TwinError[] = [];
    for (const [name, raw] of Object.entries(state)) {
      const h = this.handlers.get(name);
      if (h === undefined) {
        errors.push({ path: name, message: `unknown section "${name}"` });
        continue;
      }
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        errors.push({ path: name, message: `expected an object of parameters, got ${show(raw)}` });
        continue;
      }
      const prev = this.section(name);
      const next: Section = { ...prev };
      for (const [k, v] of Object.entries(raw)) {
        const spec = h.params[k];
        if (spec === undefined) {
          errors.push({
            path: `${name}.${k}`,
            message: `unknown parameter "${k}" in section "${name}"`,
          });
          continue;
        }
        if (spec.appendOnly) {
          const why = v === null ? 'is append-only and cannot be reset' : checkParam(spec, v);
          if (why !== undefined) errors.push({ path: `${name}.${k}`, message: why });
          else next[k] = this.merged(`${name}.${k}`, prev[k], v as string[], spec.appendOnly);
          continue;
        }
        if (v === null) {
          // null resets a parameter to its default.
          if (spec.default !== undefined) next[k] = spec.default;
          else delete next[k];
          continue;
        }
        const why = checkParam(spec, v);
        if (why !== undefined) errors.push({ path: `${name}.${k}`, message: why });
        else next[k] = v;
      }
      if (JSON.stringify(next) === JSON.stringify(prev)) continue;
      try {
        await h.apply?.(next, prev);
        this.applied[name] = next;
      } catch (err) {
        errors.push({ path: name, message: `could not apply: ${(err as Error).message}` });
      }
    }
    return errors;
  }

  /**
   * An append-only list after `incoming`: every entry it had, plus the new ones, less those the
   * source dropped whose retention (from when this device first saw them) has passed.
   */
  private merged(
    path: string,
    current: TwinValue | undefined,
    incoming: readonly string[],
    rule: { retainMs: number },
  ): string[] {
    const now = this.now();
    const seen = { ...this.firstSeen[path] };
    const listed = new Set(incoming);
    const out: string[] = [];
    for (const id of [...(Array.isArray(current) ? (current as string[]) : []), ...incoming]) {
      if (out.includes(id)) continue;
      const since = (seen[id] ??= now);
      if (!listed.has(id) && now - since >= rule.retainMs) continue;
      out.push(id);
    }
    this.firstSeen[path] = Object.fromEntries(out.map((id) => [id, seen[id] ?? now]));
    return out;
  }

  /** Can a local-port session set this parameter? (Security settings: never.) */
  private assertLocallyWritable(path: string): void {
    const [section, key] = path.split('.');
    const h = section === undefined ? undefined : this.handlers.get(section);
    if (h?.localReadOnly || (key !== undefined && h?.params[key]?.localReadOnly)) {
      throw new TwinReadOnlyError(
        `${path} is a security setting: only the hub can change it, not the local port`,
      );
    }
  }

  private async persistAndReport(errors: TwinError[]): Promise<ReportedTwin> {
    this.reportedVersion++;
    this.lastErrors = errors;
    const p: Persisted = {
      desiredVersion: this.desiredVersion,
      reportedVersion: this.reportedVersion,
      state: this.applied,
      firstSeen: this.firstSeen,
    };
    await this.files.write(FILE, enc.encode(JSON.stringify(p)));
    const report: ReportedTwin = {
      version: this.reportedVersion,
      desiredVersion: this.desiredVersion,
      state: this.state(),
      errors,
    };
    await this.send(report);
    return report;
  }

  /**
   * Applies a desired twin. A version not newer than the last one processed is ignored (a retained
   * redelivery, or an old message arriving late); returns the report sent, if any.
   */
  applyDesired(d: DesiredTwin): Promise<ReportedTwin | undefined> {
    return this.serial(async () => {
      if (!Number.isSafeInteger(d.version) || d.version <= this.desiredVersion) return undefined;
      const errors = await this.applyState(d.state ?? {});
      this.desiredVersion = d.version;
      return this.persistAndReport(errors);
    });
  }

  /**
   * Sets one value on the device (a hub command, an autonomous rule, or — with `local` — the
   * local management port, which may not touch security settings); rejects with a readable message.
   */
  set(path: string, value: TwinValue, opts: { local?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      const [section, ...rest] = path.split('.');
      const key = rest.join('.');
      if (section === undefined || key === '' || rest.length !== 1)
        throw new TwinSetError(`parameter path must be section.key, got ${show(path)}`);
      if (opts.local) this.assertLocallyWritable(path);
      const errors = await this.applyState({ [section]: { [key]: value } });
      if (errors.length > 0) throw new TwinSetError(`${errors[0]!.path}: ${errors[0]!.message}`);
      await this.persistAndReport(this.lastErrors);
    });
  }

  /** Re-sends the current report (e.g. after a reconnect, so the hub sees the applied state). */
  report(): Promise<ReportedTwin> {
    return this.serial(() => this.persistAndReport(this.lastErrors));
  }
}
