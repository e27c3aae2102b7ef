import { createInterface } from 'node:readline';

/** Reads a secret: from an env variable, else a hidden prompt on a TTY, else one line of stdin. */
export async function readSecret(prompt: string, envVar: string): Promise<string> {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const rl = createInterface({
    input: process.stdin,
    output: process.stderr,
    terminal: process.stdin.isTTY,
  });
  if (process.stdin.isTTY) {
    process.stderr.write(prompt);
    // Mute the echo of typed characters.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  }
  const line = await new Promise<string>((resolve) =>
    rl.once('line', resolve).once('close', () => resolve('')),
  );
  rl.close();
  if (process.stdin.isTTY) process.stderr.write('\n');
  return line;
}
