/** Runs a bootloader tool (`fw_setenv`, `grub-editenv`, `rauc`) without a shell, with a timeout. */
import { execFile } from 'node:child_process';

/** How long a tool may take; `rauc install` writes a whole slot, so it gets the longest. */
export const TOOL_TIMEOUT_MS = 10 * 60_000;

/** A tool that failed: the message names the command and carries its last stderr lines. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Resolves with stdout; rejects with a ToolError naming the command on a non-zero exit. */
export function runTool(
  argv: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const [cmd = '', ...args] = argv;
  const timeout = opts.timeoutMs ?? TOOL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout, maxBuffer: 4 * 1024 * 1024, ...(opts.env !== undefined ? { env: opts.env } : {}) },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve(String(stdout));
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        const tail = String(stderr).trim().split('\n').slice(-2).join(' | ').slice(0, 300);
        const why =
          e.code === 'ENOENT'
            ? 'not installed (not found on PATH)'
            : e.killed === true
              ? `timed out after ${Math.round(timeout / 1000)} s`
              : `exit code ${String(e.code)}${tail ? `: ${tail}` : ''}`;
        reject(new ToolError(`${argv.join(' ')}: ${why}`, String(stderr)));
      },
    );
  });
}
