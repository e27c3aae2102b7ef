import { close, constants, createReadStream, createWriteStream, open } from 'node:fs';
import { promisify } from 'node:util';
import { isatty, ReadStream as TtyReadStream, WriteStream as TtyWriteStream } from 'node:tty';
import type { Readable, Writable } from 'node:stream';

/** An open serial peripheral: bytes in, bytes out, and closing. */
export interface SerialLink {
  readonly input: Readable;
  readonly output: Writable;
  close(): void;
}

const openFd = promisify(open) as (path: string, flags: number) => Promise<number>;

/**
 * Opens a serial device (a tty such as /dev/ttyUSB0, or a pty in tests) for pass-through. A tty is
 * read through libuv's tty handle, which is non-blocking and closes at once; `O_NOCTTY` keeps the
 * device from becoming the agent's controlling terminal. Line settings (baud rate, raw mode) are
 * the system's (udev, `stty`); the bytes pass through untouched.
 */
export async function openSerial(path: string): Promise<SerialLink> {
  // Two descriptors: one for the read handle and one for the write handle, each closed by its own stream.
  const flags = constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK;
  // Raw descriptors (not FileHandles, which would close them again when collected).
  const readFd = await openFd(path, flags);
  let writeFd: number | undefined;
  try {
    writeFd = await openFd(path, flags);
    if (isatty(readFd)) {
      const input = new TtyReadStream(readFd);
      // Raw: no echo, no line editing or signal characters; bytes pass as they are.
      input.setRawMode(true);
      const output = new TtyWriteStream(writeFd);
      return {
        input,
        output,
        close: () => {
          input.destroy();
          output.destroy();
        },
      };
    }
    // Not a tty (a FIFO or a plain character device): ordinary file streams.
    const input = createReadStream('', { fd: readFd, autoClose: true });
    const output = createWriteStream('', { fd: writeFd, autoClose: true });
    return {
      input,
      output,
      close: () => {
        input.destroy();
        output.destroy();
      },
    };
  } catch (err) {
    close(readFd, () => undefined);
    if (writeFd !== undefined) close(writeFd, () => undefined);
    throw err;
  }
}
