/**
 * Rules on telemetry on this node (decision 0035): the engine loads the enabled rules and is
 * subscribed to the bus before the listeners open, so no accepted message goes unevaluated. It
 * evaluates the envelopes this node accepted only (`origin`), which makes each message evaluated
 * once across a cluster. Other nodes' rule changes arrive as `rule.changed` events; a full reload
 * every few minutes repairs a missed one.
 */
import type { Logger } from 'pino';
import type { Bus, RuleEngine } from '@bulwark/core';

/** How often every rule is read again, in case a `rule.changed` event was lost (ms). */
const RELOAD_MS = 5 * 60_000;

/** The running evaluation of this node. */
export interface RulesRunner {
  stop(): Promise<void>;
}

/** Loads the rules, subscribes the engine to the bus and keeps the rules fresh. */
export async function startRulesRunner(d: {
  engine: RuleEngine;
  bus: Bus;
  log: Logger;
}): Promise<RulesRunner> {
  await d.engine.start();
  // The handler returns a promise only when a rule acts: the bus then waits for it (backpressure,
  // and the order of one device's messages kept), which its contract allows.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  const unsubscribe = await d.bus.subscribe(d.engine.handle);
  d.log.debug({ rules: d.engine.evaluator.size }, 'rules on telemetry loaded');
  const timer = setInterval(() => {
    d.engine
      .reloadAll()
      .catch((err: unknown) => d.log.warn({ err }, 'reloading the rules on telemetry failed'));
  }, RELOAD_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      d.engine.stop();
      await unsubscribe();
    },
  };
}
