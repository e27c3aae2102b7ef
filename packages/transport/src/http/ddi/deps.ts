/**
 * What the hawkBit DDI routes need from the hub (decision 0012). The hub composes these from its
 * services; the routes never see storage.
 */
import type {
  Admission,
  CertificateRecord,
  Device,
  FirmwareRepoService,
  TwinService,
  UpdateJobRecord,
} from '@bulwark/core';
import type { UpdateStatusReport } from '@bulwark/protocol';

/** The update-job operations a DDI controller drives. */
export interface DdiJobs {
  /** The device's open (non-terminal) job, if any. */
  openFor(orgId: string, deviceId: string): Promise<UpdateJobRecord | undefined>;
  /** A job by its DDI action id (any state), scoped to the organization. */
  byActionId(orgId: string, actionId: number): Promise<UpdateJobRecord | undefined>;
  /**
   * Applies the device's report: `applied` (moved), `noted` (its message kept in the history),
   * `ignored` when the job had moved on (nothing changed).
   */
  report(
    orgId: string,
    deviceId: string,
    jobId: string,
    report: UpdateStatusReport,
  ): Promise<'applied' | 'noted' | 'ignored'>;
  /** queued → delivered: the controller fetched the deployment (false when it was not queued). */
  delivered(orgId: string, jobId: string): Promise<boolean>;
  /** The device's most recent job in any state (to find one the hub canceled meanwhile). */
  latestFor(orgId: string, deviceId: string): Promise<UpdateJobRecord | undefined>;
}

/** Dependencies of the DDI routes. */
export interface DdiDeps {
  /** The one admission rule (certificate or target token → the controller). */
  admission: Pick<Admission, 'admit'>;
  firmware: Pick<FirmwareRepoService, 'get' | 'download'>;
  twins: Pick<TwinService, 'get' | 'acceptReported'>;
  jobs: DdiJobs;
  /** The polling interval announced to controllers (`config.polling.sleep`), in seconds. */
  pollSeconds: number;
  /**
   * The hub's configured public origin (`https://host[:port]`) that `_links` point to — never
   * the request's Host header, which any client (or anyone in its path) sets.
   */
  publicOrigin: () => string;
}

/** The controller a request is from, once authenticated. */
export interface DdiCaller {
  device: Device;
  cert: CertificateRecord | null;
}
