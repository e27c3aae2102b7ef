import { readFileSync } from 'node:fs';
import { CliError } from '../errors.js';

/** Reads and parses a JSON file, with the file named in any error. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${file} is not JSON`);
  }
}
