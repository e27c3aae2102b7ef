/**
 * Commands from the hub: a registry of handlers by name, status `delivered` then `succeeded` or
 * `failed` with a code, and a persistent ledger of command ids so a redelivery (the hub resends
 * an unacknowledged QoS 1 message after a crash or a reconnect) never runs a command twice.
 */
import {
  CommandRequestPayload,
  firstProblem,
  type CommandRequest,
  type CommandStatus,
  type TwinValue,
} from '@bulwark/protocol';
import type { AgentClock, AgentFiles } from '../ports.js';

type Params = { [key: string]: TwinValue };
type Result = { [key: string]: TwinValue };

/** What a handler gets besides its params. */
export interface CommandContext {
  id: string;
  /** Deadline, milliseconds since the epoch. */
  deadline: number;
  /** Runs `fn` after the final status is durably queued (reboot, factory reset). */
  afterReply(fn: () => Promise<void>): void;
}

/** One command's handler. */
export interface CommandHandler {
  /** Checks params; returns why they are refused (→ `invalid_params`) or undefined. */
  validate?(params: Params): string | undefined;
  run(params: Params, ctx: CommandContext): Promise<Result | void>;
}

/** A handler error with a stable code (else the code is `handler_error`). */
export class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface LedgerEntry {
  at: number;
  /** Absent while the command runs: a redelivery then is reported as interrupted, not rerun. */
  status?: CommandStatus;
}

const FILE = 'commands/ledger.json';
/** Ids remembered: far more than a hub redelivers at once; bounds the file to ~100 KB. */
const LEDGER_MAX = 500;
const enc = new TextEncoder();
const dec = new TextDecoder();
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Runs commands and reports their status through `send` (durably queued by the agent). */
export class CommandRunner {
  private readonly handlers = new Map<string, CommandHandler>();
  private ledger = new Map<string, LedgerEntry>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Commands being run now. */
  running = 0;

  constructor(
    private readonly files: AgentFiles,
    private readonly clock: AgentClock,
    private readonly send: (id: string, status: CommandStatus) => Promise<void>,
  ) {}

  register(name: string, handler: CommandHandler): void {
    if (this.handlers.has(name)) throw new TypeError(`command ${name} is already registered`);
    this.handlers.set(name, handler);
  }

  /** Command names known. */
  names(): string[] {
    return [...this.handlers.keys()].sort();
  }

  async load(): Promise<void> {
    const bytes = await this.files.read(FILE);
    this.ledger = new Map();
    if (bytes === undefined) return;
    try {
      for (const [id, e] of JSON.parse(dec.decode(bytes)) as [string, LedgerEntry][])
        this.ledger.set(id, e);
    } catch {
      /* unreadable: start empty (cannot come from an atomic write) */
    }
  }

  reset(): void {
    this.ledger.clear();
  }

  private async saveLedger(): Promise<void> {
    while (this.ledger.size > LEDGER_MAX) this.ledger.delete(this.ledger.keys().next().value!);
    await this.files.write(FILE, enc.encode(JSON.stringify([...this.ledger])));
  }

  /** Handles one `commands/{id}` message. Serialized: commands run one at a time, in order. */
  handle(topicId: string, payload: Uint8Array): Promise<void> {
    const run = this.chain.then(() => this.handleOne(topicId, payload));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async handleOne(topicId: string, payload: Uint8Array): Promise<void> {
    if (!ID.test(topicId)) return; // not a command id we could answer on a topic
    const seen = this.ledger.get(topicId);
    if (seen !== undefined) {
      // Redelivery: never run twice. Resend the outcome (the first may not have reached the hub).
      await this.send(
        topicId,
        seen.status ?? {
          state: 'failed',
          error: { code: 'interrupted', message: 'the agent stopped while the command ran' },
        },
      );
      return;
    }
    this.running++;
    try {
      this.ledger.set(topicId, { at: this.clock.now() });
      await this.saveLedger();
      await this.send(topicId, { state: 'delivered' });
      const after: (() => Promise<void>)[] = [];
      const status = await this.execute(topicId, payload, after);
      this.ledger.set(topicId, { at: this.clock.now(), status });
      await this.saveLedger();
      await this.send(topicId, status);
      for (const fn of after) await fn();
    } finally {
      this.running--;
    }
  }

  private async execute(
    topicId: string,
    payload: Uint8Array,
    after: (() => Promise<void>)[],
  ): Promise<CommandStatus> {
    const fail = (code: string, message: string): CommandStatus => ({
      state: 'failed',
      error: { code, message },
    });
    let raw: unknown;
    try {
      raw = JSON.parse(dec.decode(payload));
    } catch {
      return fail('invalid_params', 'the command is not valid JSON');
    }
    // The hub's CommandRequest, as protocol's schema says (the one the hub sends by).
    const problem = firstProblem(CommandRequestPayload, raw);
    if (problem !== null) return fail('invalid_params', `the command: ${problem}`);
    const req = raw as CommandRequest;
    if (req.id !== topicId)
      return fail('invalid_params', `the command id ${req.id} does not match its topic`);
    const deadline = Date.parse(req.deadline);
    if (!Number.isFinite(deadline))
      return fail('invalid_params', 'the command has no valid deadline');
    if (deadline < this.clock.now())
      return fail('deadline_passed', `the deadline ${req.deadline} has passed`);
    const h = this.handlers.get(req.name);
    if (h === undefined) return fail('unknown_command', `unknown command "${req.name}"`);
    const params = req.params;
    const why = h.validate?.(params);
    if (why !== undefined) return fail('invalid_params', why);
    try {
      const result = await h.run(params, {
        id: topicId,
        deadline,
        afterReply: (fn) => after.push(fn),
      });
      return { state: 'succeeded', ...(result ? { result } : {}) };
    } catch (err) {
      const e = err as { code?: unknown; message?: string };
      return fail(typeof e.code === 'string' ? e.code : 'handler_error', e.message ?? String(err));
    }
  }
}
