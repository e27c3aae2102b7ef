/**
 * Suppression and cool-down (decision 0034): one gate per rule and subject (device or source), so
 * a flapping device raises one alert, not a hundred. A breach opens the gate (the rule fires
 * once); further breaches only keep it open; once the rule has not been breached for its resolve
 * delay the gate resolves and cools down, and breaches during the cool-down raise nothing.
 */
import type { DetectEvidence } from '../ports/events.js';
import type { DetectRuleId } from './rules.js';

/** Who an alert goes on: a device of an organization (null when the subject names none). */
export interface DetectTarget {
  orgId: string | null;
  deviceId: string | null;
}

/** One rule's state for one subject. */
export interface Gate {
  ruleId: DetectRuleId;
  /** `device:<org>:<id>` or `source:<address>|org:<org>`. */
  subject: string;
  state: 'open' | 'cooldown';
  since: number;
  lastBreachAt: number;
  /** Cool-down end (state `cooldown`). */
  until: number;
  evidence: DetectEvidence;
  target: DetectTarget;
}

/** What a breach led to. */
export type BreachOutcome = 'fired' | 'held' | 'suppressed';

/** The gates of one node, with their timing. */
export class Gates {
  readonly #gates = new Map<string, Gate>();
  /** Breaches that raised nothing because a gate was open or cooling down (for the metrics). */
  suppressed = 0;

  /** The gate of a rule and subject, if any. */
  get(ruleId: DetectRuleId, subject: string): Gate | undefined {
    return this.#gates.get(`${ruleId}|${subject}`);
  }

  /** Records a breach at `now`: opens the gate (fired) unless it is open (held) or cooling down. */
  breach(
    ruleId: DetectRuleId,
    subject: string,
    now: number,
    evidence: DetectEvidence,
    target: DetectTarget,
  ): BreachOutcome {
    const key = `${ruleId}|${subject}`;
    const g = this.#gates.get(key);
    if (g?.state === 'open') {
      g.lastBreachAt = now;
      this.suppressed++;
      return 'held';
    }
    if (g?.state === 'cooldown' && now < g.until) {
      this.suppressed++;
      return 'suppressed';
    }
    this.#gates.set(key, {
      ruleId,
      subject,
      state: 'open',
      since: now,
      lastBreachAt: now,
      until: 0,
      evidence,
      target,
    });
    return 'fired';
  }

  /**
   * Resolves the open gates not breached for their rule's resolve delay (returned, now cooling
   * down) and forgets cool-downs that ended.
   */
  sweep(
    now: number,
    timing: (
      ruleId: DetectRuleId,
      target: DetectTarget,
    ) => { resolveMs: number; cooldownMs: number },
  ): Gate[] {
    const resolved: Gate[] = [];
    for (const [key, g] of this.#gates) {
      if (g.state === 'cooldown') {
        if (now >= g.until) this.#gates.delete(key);
        continue;
      }
      const t = timing(g.ruleId, g.target);
      if (now - g.lastBreachAt < t.resolveMs) continue;
      g.state = 'cooldown';
      g.until = now + t.cooldownMs;
      resolved.push(g);
      if (t.cooldownMs === 0) this.#gates.delete(key);
    }
    return resolved;
  }

  /** The gates of a subject. */
  of(subject: string): Gate[] {
    return [...this.#gates.values()].filter((g) => g.subject === subject);
  }

  /** Does the subject have any gate (then its state is not evicted)? */
  holds(subject: string): boolean {
    for (const g of this.#gates.values()) if (g.subject === subject) return true;
    return false;
  }

  get size(): number {
    return this.#gates.size;
  }
}
