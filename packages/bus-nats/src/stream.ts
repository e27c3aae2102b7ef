/**
 * The JetStream stream the bus publishes into: a transport buffer between hub nodes, not the
 * message archive (storage keeps that), so it is limits-based with a maximum age.
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

/** What the bus needs of its stream. */
export interface StreamSpec {
  name: string;
  /** The subject prefix; the stream captures `<prefix>.>`. */
  subjectPrefix: string;
  /** Messages older than this are discarded. */
  maxAgeSeconds: number;
  /** Window in which a repeated `Nats-Msg-Id` is recognised as a duplicate. */
  duplicateWindowSeconds: number;
  replicas: number;
}

/** JetStream's code for "stream name already in use" (a concurrent node created it first). */
const STREAM_NAME_EXISTS = 10058;

/** Stream names may not contain subject separators, wildcards, whitespace or path characters. */
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** The part of the stream configuration the bus owns. */
type OwnedConfig = Pick<
  StreamConfig,
  | 'name'
  | 'subjects'
  | 'storage'
  | 'retention'
  | 'discard'
  | 'max_age'
  | 'duplicate_window'
  | 'num_replicas'
>;

/** The configuration we own, as JetStream spells it. */
function configOf(spec: StreamSpec): OwnedConfig {
  return {
    name: spec.name,
    subjects: [`${spec.subjectPrefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // A transport buffer: when full or old, the oldest messages go, never new publishes.
    discard: DiscardPolicy.Old,
    max_age: nanos(spec.maxAgeSeconds * 1000),
    duplicate_window: nanos(spec.duplicateWindowSeconds * 1000),
    num_replicas: spec.replicas,
  };
}

/**
 * Creates the stream, or brings an existing one's subjects, limits and duplicate window in line
 * with `spec`; safe when several nodes start at once. Returns the stream's info.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<StreamInfo> {
  if (!STREAM_NAME.test(spec.name)) {
    throw new RangeError(`stream must be [A-Za-z0-9_-] characters, got '${spec.name}'`);
  }
  if (spec.duplicateWindowSeconds > spec.maxAgeSeconds) {
    // JetStream refuses a duplicate window longer than the maximum age.
    throw new RangeError('duplicateWindowSeconds may not exceed maxAgeSeconds');
  }
  const want = configOf(spec);
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(spec.name);
  } catch (err) {
    if (apiCode(err) !== JetStreamApiCodes.StreamNotFound) throw err;
    try {
      return await jsm.streams.add(want);
    } catch (addErr) {
      if (apiCode(addErr) !== STREAM_NAME_EXISTS) throw addErr;
      info = await jsm.streams.info(spec.name);
    }
  }
  const have = info.config;
  if (have.storage !== want.storage || have.retention !== want.retention) {
    throw new Error(
      `stream ${spec.name} exists with ${have.storage} storage and ${have.retention} retention; ` +
        `the bus needs ${want.storage} and ${want.retention} (delete it or pick another name)`,
    );
  }
  const same =
    have.subjects.length === 1 &&
    have.subjects[0] === want.subjects[0] &&
    have.discard === want.discard &&
    have.max_age === want.max_age &&
    have.duplicate_window === want.duplicate_window &&
    have.num_replicas === want.num_replicas;
  if (same) return info;
  return jsm.streams.update(spec.name, {
    subjects: want.subjects,
    discard: want.discard,
    max_age: want.max_age,
    duplicate_window: want.duplicate_window,
    num_replicas: want.num_replicas,
  });
}
