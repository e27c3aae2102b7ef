/**
 * `bulwark doctor [--service-env FILE] [--data-dir DIR] [hub flags…] [--name N]… [--backup-dir DIR]
 * [--backup-max-age-hours H] [--json]`: checks a running installation and prints pass, warn,
 * fail or skip per check; exit 1 when one failed, 2 on a usage error. It reads the hub's own
 * configuration: the flags and BULWARK_* variables the hub takes, and the service's settings
 * file (default /etc/bulwark/hub.env when neither --data-dir nor BULWARK_DATA_DIR is given).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_FIELDS, ConfigError, loadConfig } from '../config.js';
import { DEFAULT_MAX_AGE_HOURS } from '../doctor/backups.js';
import { envFileCheck, readEnvFile } from '../doctor/files.js';
import { formatReport, report } from '../doctor/report.js';
import { runDoctor } from '../doctor/run.js';

/** The settings file of the packaged service (packaging/deb/hub/hub.env). */
export const PACKAGED_ENV_FILE = '/etc/bulwark/hub.env';

const USAGE = `usage: bulwark doctor [--service-env FILE] [--data-dir DIR] [hub flags…] [options]

Checks a running hub installation: file modes of the data dir and master.key, the listeners and
their binds, TLS (expiry, chain, names), open-mode MQTT and CoAP exposure, the clock, backups,
the health endpoints and the database. Exit 1 when a check fails.
  --service-env FILE         the hub's settings (BULWARK_* lines); default ${PACKAGED_ENV_FILE}
                             when it exists and no --data-dir or BULWARK_DATA_DIR is given
  --name NAME                a name clients reach the hub by, that its certificate must cover (repeat)
  --backup-dir DIR           where backups land: checks their age and that master.key is there
  --backup-max-age-hours H   the newest backup may be this old (default ${DEFAULT_MAX_AGE_HOURS})
  --json                     print the report as JSON
  Every \`bulwark hub\` flag (--data-dir, --database, --public-names …) is accepted as the hub takes it.
`;

export async function doctorCommand(argv: string[]): Promise<number> {
  const cfgFlags = Object.values(CONFIG_FIELDS).map((f) => f.flag) as string[];
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(cfgFlags.map((f) => [f, { type: 'string' as const }])),
        'service-env': { type: 'string' },
        name: { type: 'string', multiple: true },
        'backup-dir': { type: 'string' },
        'backup-max-age-hours': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const maxAge = Number(values['backup-max-age-hours'] ?? DEFAULT_MAX_AGE_HOURS);
  if (!Number.isFinite(maxAge) || maxAge <= 0) {
    process.stderr.write(
      `error: --backup-max-age-hours ${String(values['backup-max-age-hours'])}: must be a positive number of hours\n`,
    );
    return 2;
  }
  let envFile = values['service-env'] as string | undefined;
  if (
    envFile === undefined &&
    values['data-dir'] === undefined &&
    process.env.BULWARK_DATA_DIR === undefined &&
    existsSync(PACKAGED_ENV_FILE)
  )
    envFile = PACKAGED_ENV_FILE;
  let fileEnv: Record<string, string> = {};
  if (envFile !== undefined) {
    try {
      fileEnv = readEnvFile(envFile);
    } catch (err) {
      process.stderr.write(
        `error: cannot read --service-env ${envFile}: ${(err as Error).message}\n`,
      );
      return 2;
    }
  }
  let config;
  try {
    const cfgArgv = cfgFlags.flatMap((f) =>
      typeof values[f] === 'string' ? [`--${f}`, values[f]] : [],
    );
    // The settings file is what the service runs with: it wins over the caller's environment.
    config = loadConfig(cfgArgv, { ...process.env, ...fileEnv });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  const r = await runDoctor({
    config,
    names: (values.name as string[] | undefined) ?? [],
    backupDir: typeof values['backup-dir'] === 'string' ? resolve(values['backup-dir']) : undefined,
    backupMaxAgeHours: maxAge,
  });
  const full =
    envFile === undefined ? r : report(r.dataDir, [envFileCheck(envFile, fileEnv), ...r.checks]);
  process.stdout.write(
    values.json === true ? JSON.stringify(full, null, 2) + '\n' : formatReport(full),
  );
  return full.ok ? 0 : 1;
}
