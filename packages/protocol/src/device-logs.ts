/**
 * Central device logs (decision 0032) as plain data: the levels and the limits of what a device
 * may send on `$devices/{deviceId}/logs`, shared by the hub (which enforces them), the agent
 * (which stays within them) and the CLI (which needs no schema library: exported by `lite`).
 */

/**
 * Log levels, most severe first: the syslog severities (RFC 5424 §6.2.1), so a journald
 * `PRIORITY` is the index. A query for level L means L and everything more severe.
 */
export const LOG_LEVELS = [
  'emergency',
  'alert',
  'critical',
  'error',
  'warning',
  'notice',
  'info',
  'debug',
] as const;

/** One log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What one `logs` message may hold (the hub refuses more, naming the limit). */
export const DEVICE_LOG_LIMITS = {
  /** Records per batch: a batch is one MQTT message, acknowledged as a whole. */
  maxRecords: 500,
  /** Bytes of one batch (JSON): well inside the MQTT packet limit, one database write. */
  maxBatchBytes: 256 * 1024,
  /** Characters of one message: a long stack trace fits; a dumped file does not. */
  maxMessageChars: 8192,
  /** Characters of a source name (`file:/var/log/app.log`, `journal:nginx.service`). */
  maxSourceChars: 200,
  /** Keys of a record's `fields`, and the bytes of their JSON. */
  maxFieldKeys: 32,
  maxFieldsBytes: 4096,
} as const;

/** One log record as a device sends it. */
export interface DeviceLogRecord {
  /** When the device logged it (RFC 3339, the device's clock). */
  ts: string;
  level: LogLevel;
  /** Where it came from: `agent`, `file:/var/log/app.log`, `journal:sshd.service` … */
  source: string;
  message: string;
  /** Structured extras (flat: strings, numbers, booleans). */
  fields?: { [key: string]: string | number | boolean };
}

/** `$devices/{deviceId}/logs` (device → hub, QoS 1): a batch of records. */
export interface DeviceLogBatch {
  records: DeviceLogRecord[];
  /**
   * Records the device had to drop (its bounded buffer was full) since the last batch the hub
   * acknowledged; the hub stores a marker record saying how many.
   */
  dropped?: number;
}
