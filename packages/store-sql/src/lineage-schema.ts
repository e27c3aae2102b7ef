/**
 * Migration 9, the same in both dialects: certificate lineage (issue 11: a renewal supersedes the
 * certificate it was authenticated with, which retires after an overlap; revoking a certificate
 * revokes what was renewed from it) and the keyed audit chain (decision 0016).
 */
export function lineageAndKeyedAuditSchema(t: { int: string; idText: string }): string {
  const { int, idText } = t;
  return `
ALTER TABLE certificates ADD COLUMN renewed_from ${idText};
ALTER TABLE certificates ADD COLUMN superseded_by ${idText};
ALTER TABLE certificates ADD COLUMN retire_at ${int};
-- The retirement sweep reads superseded certificates not yet revoked, by retirement time.
CREATE INDEX certificates_retiring ON certificates (retire_at)
  WHERE retire_at IS NOT NULL AND revoked_at IS NULL;
-- The renewal rate limit counts a device's renewals in a window.
CREATE INDEX certificates_renewals ON certificates (org_id, device_id, created_at)
  WHERE renewed_from IS NOT NULL;

-- Rows before keyed_from were chained with plain SHA-256 by an older hub; from it on with
-- HMAC-SHA256 under a key derived from the master key. mac authenticates the head itself.
ALTER TABLE audit_head ADD COLUMN keyed_from ${int} NOT NULL DEFAULT 1;
UPDATE audit_head SET keyed_from = seq + 1;
ALTER TABLE audit_head ADD COLUMN mac text;
`;
}
