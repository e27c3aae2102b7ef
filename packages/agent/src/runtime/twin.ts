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
}

type Section = { [key: string]: TwinValue };

/** A section's handler: its parameters and what to do when they change. */
export interface SectionHandler {
  params: { [key: string]: ParamSpec };
  /** Called with the section's new and previous values; throwing refuses the change. */
  apply?(next: Section, prev: Section): void | Promise<void>;
}

/** A value the handlers refused; the message is readable by a person. */
export class TwinSetError extends Error {
  readonly code = 'invalid_params';
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
}

/** The twin: registry of section handlers, applied state, reports. */
export class Twin {
  private readonly handlers = new Map<string, SectionHandler>();
  private applied: TwinState = {};
  private desiredVersion = 0;
  private reportedVersion = 0;
  private lastErrors: TwinError[] = [];
  /** Every change runs in this chain, so two applies never interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly files: AgentFiles,
    /** Sends a report (queued durably by the agent). */
    private readonly send: (report: ReportedTwin) => Promise<void>,
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

  private async persistAndReport(errors: TwinError[]): Promise<ReportedTwin> {
    this.reportedVersion++;
    this.lastErrors = errors;
    const p: Persisted = {
      desiredVersion: this.desiredVersion,
      reportedVersion: this.reportedVersion,
      state: this.applied,
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

  /** Sets one value locally (command, local port, autonomous rule); rejects with a readable message. */
  set(path: string, value: TwinValue): Promise<void> {
    return this.serial(async () => {
      const [section, ...rest] = path.split('.');
      const key = rest.join('.');
      if (section === undefined || key === '' || rest.length !== 1)
        throw new TwinSetError(`parameter path must be section.key, got ${show(path)}`);
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
