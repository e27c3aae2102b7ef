/**
 * Wiring of the detection engine on one hub node (decision 0034): it listens to the domain
 * events of every node, ticks every second (message-flood judgement, windows learned, quiet
 * alerts resolved, baselines written each minute) and writes what it learned when the hub stops.
 */
import type { Logger } from 'pino';
import type { DetectEngine } from '@bulwark/core';

/** How often the engine judges the devices that published and moves its windows. */
export const DETECT_TICK_MS = 1000;

/** The running engine. */
export interface DetectWiring {
  stop(): Promise<void>;
}

/** Starts the engine's subscription and its tick. */
export function startDetect(d: { engine: DetectEngine; log: Logger }): DetectWiring {
  const { engine, log } = d;
  engine.onError = (err, what) => log.warn({ err, what }, 'detection failed');
  engine.start();
  let ticking: Promise<void> | null = null;
  const timer = setInterval(() => {
    ticking ??= engine
      .tick()
      .catch((err: unknown) => log.warn({ err }, 'detection tick failed'))
      .finally(() => {
        ticking = null;
      });
  }, DETECT_TICK_MS).unref();
  return {
    async stop() {
      clearInterval(timer);
      await ticking;
      await engine.stop();
    },
  };
}
