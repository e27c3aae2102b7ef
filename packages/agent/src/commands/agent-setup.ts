/**
 * `bulwark agent setup --config FILE [--image FILE --version V [--counter N]]`: prepares and checks
 * the A/B slots of the configured `update.mode` (boot/setup.ts) and says what is missing. Exit 0
 * when updates will work, 1 when something is missing, 2 on a usage or configuration error.
 */
import { setupSlots, type FactoryImage } from '../boot/setup.js';
import { AgentConfigError, loadAgentConfig } from '../config.js';
import { configCommandArgs } from './command-args.js';

const USAGE = `usage: bulwark agent setup --config FILE [--image FILE --version V [--counter N]]
  prepares the A/B slots of update.mode and checks what updates need
  --image, --version, --counter  application mode: the application's first image (slot a)
`;

export async function agentSetupCommand(argv: string[]): Promise<number> {
  const values = configCommandArgs<{
    config?: string;
    image?: string;
    version?: string;
    counter?: string;
    help?: boolean;
  }>(
    argv,
    { image: { type: 'string' }, version: { type: 'string' }, counter: { type: 'string' } },
    USAGE,
  );
  if (typeof values === 'number') return values;
  let factory: FactoryImage | undefined;
  if (values.image !== undefined || values.version !== undefined) {
    const counter = Number(values.counter ?? '0');
    if (
      values.image === undefined ||
      values.version === undefined ||
      !Number.isSafeInteger(counter) ||
      counter < 0
    ) {
      process.stderr.write(
        `error: --image and --version go together; --counter is a whole number\n${USAGE}`,
      );
      return 2;
    }
    factory = { file: values.image, version: values.version, counter };
  }
  let config;
  try {
    config = await loadAgentConfig(values.config);
  } catch (err) {
    if (!(err instanceof AgentConfigError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  const r = await setupSlots(config.update, factory);
  process.stdout.write(`update.mode ${config.update.mode}\n`);
  for (const c of r.checks)
    process.stdout.write(
      `${c.ok ? 'ok     ' : 'MISSING'} ${c.what}${c.fix !== undefined ? `\n        → ${c.fix}` : ''}\n`,
    );
  process.stdout.write(r.ok ? 'updates: ready\n' : 'updates: not ready (see MISSING above)\n');
  return r.ok ? 0 : 1;
}
