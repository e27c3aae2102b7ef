import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Storage } from '@bulwark/core';
import { CONFIG_FIELDS, ConfigError, loadConfig, type HubConfig } from '../config.js';
import { masterKeyPath } from '../hub.js';
import { checkMasterKey, loadMasterKey } from '../master-key.js';
import { secureDataDir } from '../data-dir.js';
import { createServices, type HubServices } from '../services.js';
import { describeStorage, openStorage } from '../storage.js';
import { checkStorageMarker, storageIdentity } from '../storage-marker.js';

type Opt = { type: 'string' | 'boolean'; multiple?: boolean };

/** Parses a local command's own flags plus every hub config flag (for the data dir and database). */
export function parseLocal<O extends Record<string, Opt>>(
  argv: string[],
  own: O,
): { config: HubConfig; values: Record<string, string | boolean | string[] | undefined> } {
  const cfgFlags = Object.values(CONFIG_FIELDS).map((f) => f.flag) as string[];
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(cfgFlags.map((f) => [f, { type: 'string' as const }])),
        ...own,
      },
    }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const cfgArgv = cfgFlags.flatMap((f) =>
    typeof values[f] === 'string' ? [`--${f}`, values[f]] : [],
  );
  return { config: loadConfig(cfgArgv, process.env), values };
}

/** Storage and services on a data dir, without any server: for commands run by a local operator. */
export async function openLocal(
  config: HubConfig,
): Promise<{ storage: Storage; services: HubServices; close(): Promise<void> }> {
  // A data dir may be prepared before the hub's first start (e.g. create-owner first): it is
  // made private (or refused) as the hub does. An operator reading another user's data dir
  // (root running `audit verify` on the service user's) changes nothing there.
  // Refused before anything is made: the hub on this data dir runs on another database.
  checkStorageMarker(config);
  process.stderr.write(
    `config file: ${config.config || 'none (flags and BULWARK_* only)'}; database: ${storageIdentity(config)}\n`,
  );
  if (!existsSync(config.dataDir) || statSync(config.dataDir).uid === process.getuid?.())
    secureDataDir(config.dataDir, [masterKeyPath(config)]);
  const masterKey = loadMasterKey(masterKeyPath(config), true);
  const storage = await openStorage(config);
  try {
    // A command run with another key than the database's would seal secrets no node can open.
    // It only compares: recording the check value is the hub's first start (decision 0021).
    await checkMasterKey(
      storage,
      masterKey,
      { keyFile: masterKeyPath(config), database: describeStorage(config) },
      false,
    );
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
  const services = createServices(storage, masterKey, config);
  return { storage, services, close: () => storage.close() };
}
