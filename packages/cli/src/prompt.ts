import { CliError } from './errors.js';
import type { Io } from './io.js';

/**
 * A secret from `envName` if set, else typed on the terminal without echo (raw mode, so it never
 * shows on screen or in scrollback). Fails rather than read a secret from a non-terminal stdin.
 */
export async function readSecret(io: Io, prompt: string, envName: string): Promise<string> {
  const fromEnv = io.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const stdin = io.stdin;
  if (!stdin.isTTY) throw new CliError(`no password: set ${envName} or run on a terminal`);
  io.err(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.err('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(typed);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new CliError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
