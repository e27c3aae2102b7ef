/** `bulwark discover [--timeout S] [--interface IP] [--json]`: lists Bulwark devices on the LAN. */
import { parseArgs } from 'node:util';
import { discoverDevices, type DiscoveredDevice } from '../discovery/browse.js';

const USAGE = `usage: bulwark discover [--timeout S] [--interface IP] [--json]

Asks the local network (mDNS, _bulwark._tcp.local) which Bulwark devices are there.
  --timeout S      seconds to listen for answers (default 3, at most 60)
  --interface IP   the IPv4 address of the interface to ask on (default: every interface)
  --json           print a JSON array instead of a table
`;

/** Renders devices as an aligned table with a header, columns two spaces apart. */
export function formatDevices(devices: readonly DiscoveredDevice[]): string {
  const rows = [
    ['ID', 'TYPE', 'FW', 'ADDRESS', 'PORT'],
    ...devices.map((d) => [
      d.id || '-',
      d.type || '-',
      d.fw || '-',
      d.addresses.join(',') || '-',
      String(d.port),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** Runs `bulwark discover`; returns the exit code (2 for bad arguments). */
export async function discoverCommand(argv: string[]): Promise<number> {
  let values: { timeout?: string; interface?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        timeout: { type: 'string' },
        interface: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const seconds = values.timeout === undefined ? 3 : Number(values.timeout);
  // Bounded so a typo (300 for 3.00) does not hang a script for minutes.
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 60) {
    process.stderr.write(
      `error: --timeout must be a number of seconds between 0 and 60, not ${JSON.stringify(values.timeout)}\n`,
    );
    return 2;
  }
  let devices: DiscoveredDevice[];
  try {
    devices = await discoverDevices({
      timeoutMs: Math.round(seconds * 1000),
      ...(values.interface === undefined ? {} : { interface: values.interface }),
    });
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  }
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(devices, null, 2)}\n`);
  } else if (devices.length === 0) {
    process.stderr.write(`no Bulwark devices answered within ${seconds} s\n`);
  } else {
    process.stdout.write(formatDevices(devices));
  }
  return 0;
}
