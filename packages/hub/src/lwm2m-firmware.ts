/**
 * Firmware over LwM2M at the hub (decision 0044): the download links (one HMAC key derived from
 * the master key, so every node issues and checks the same links), the HTTPS route's
 * dependencies, and the driver that carries out the update jobs of the devices registered here.
 */
import type { Logger } from 'pino';
import {
  deriveKey,
  Lwm2mFirmware,
  Lwm2mFirmwareUrls,
  type Clock,
  type Lwm2mLink,
  type Storage,
} from '@bulwark/core';
import type { Lwm2mFirmwareDownloadDeps } from '@bulwark/transport';
import type { HubServices } from './services.js';

/** Jobs made on other nodes start, and silent jobs are polled, within this. */
const SWEEP_MS = 5_000;

/** The signer/checker of Package URIs on the hub's public origin. */
export function lwm2mFirmwareUrls(
  storage: Storage,
  masterKey: Buffer,
  clock: Clock,
  origin: () => string,
): Lwm2mFirmwareUrls {
  return new Lwm2mFirmwareUrls({
    key: deriveKey(masterKey, 'lwm2m-firmware-url'),
    storage,
    clock,
    origin,
  });
}

/** What the HTTPS download route needs. */
export function lwm2mFirmwareDownload(
  urls: Lwm2mFirmwareUrls,
  services: HubServices,
): Lwm2mFirmwareDownloadDeps {
  return {
    resolve: (orgId, jobId, expires, mac) => urls.resolve(orgId, jobId, expires, mac),
    firmware: services.firmware,
  };
}

/** Starts the driver on the LwM2M link; the caller feeds it registrations. */
export function startLwm2mFirmware(d: {
  services: HubServices;
  storage: Storage;
  urls: Lwm2mFirmwareUrls;
  link: Lwm2mLink;
  clock: Clock;
  log: Logger;
}): { driver: Lwm2mFirmware; stop(): void } {
  const driver = new Lwm2mFirmware({
    updates: d.services.updates,
    storage: d.storage,
    signals: d.services.managementSignals,
    link: d.link,
    urls: d.urls,
    clock: d.clock,
    log: { warn: (o, m) => d.log.warn(o, m), info: (o, m) => d.log.info(o, m) },
  });
  driver.start();
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    driver
      .sweep()
      .catch((err: unknown) => d.log.warn({ err }, 'LwM2M firmware sweep failed'))
      .finally(() => (sweeping = false));
  }, SWEEP_MS);
  timer.unref();
  return {
    driver,
    stop() {
      clearInterval(timer);
      driver.stop();
    },
  };
}
