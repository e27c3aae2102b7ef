/**
 * Operator advisories on firmware artifacts (decision 0031): mark a release withdrawn or
 * vulnerable with a reason; devices that run it become `firmware.flagged` findings.
 */
import { BulwarkError } from '@bulwark/protocol';
import type { FirmwareAdvisoryRecord, FirmwareAdvisoryStatus } from '../ports/checks.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';

export class FirmwareAdvisoryService {
  constructor(
    private readonly d: { storage: Pick<Storage, 'firmware' | 'checks'>; clock: Clock },
  ) {}

  /** Sets the artifact's advisory (replacing an earlier one). */
  async set(
    orgId: string,
    artifactId: string,
    req: { status: FirmwareAdvisoryStatus; reason: string },
    setBy: string | null,
  ): Promise<FirmwareAdvisoryRecord> {
    if ((await this.d.storage.firmware.getArtifact(orgId, artifactId)) === undefined)
      throw new BulwarkError('not_found', `no firmware artifact ${artifactId}`);
    const reason = req.reason.trim();
    if (reason.length < 3) throw new BulwarkError('validation_failed', 'give the reason');
    const a: FirmwareAdvisoryRecord = {
      orgId,
      artifactId,
      status: req.status,
      reason,
      setBy,
      setAt: this.d.clock.now(),
    };
    await this.d.storage.checks.putAdvisory(a);
    return a;
  }

  async clear(orgId: string, artifactId: string): Promise<void> {
    if (!(await this.d.storage.checks.deleteAdvisory(orgId, artifactId)))
      throw new BulwarkError('not_found', `firmware artifact ${artifactId} has no advisory`);
  }

  list(orgId: string): Promise<FirmwareAdvisoryRecord[]> {
    return this.d.storage.checks.listAdvisories(orgId);
  }
}
