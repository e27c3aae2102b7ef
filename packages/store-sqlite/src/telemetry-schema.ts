/**
 * Migration 14 (decision 0024): telemetry keyed by integers. Migration 2 keyed every telemetry
 * b-tree by 36-character text ids — a 1-record message touched five b-trees (messages, its id
 * index, its channel-time index, senml_values and its series index), each entry carrying the
 * organization and channel ids as text. Here:
 *
 * - `telemetry_channels` gives each (organization, channel) that has telemetry a small integer
 *   `key` (AUTOINCREMENT: a key is never reused, so rows left behind by a deleted channel can never
 *   be read as another channel's). Rows are never deleted: the writer thread caches the keys.
 * - `telemetry_messages` is a rowid table (`seq`, appended in commit order) with one index,
 *   UNIQUE (chan, received_at, id): the channel's paging order and the duplicate check in one. A
 *   retried envelope repeats all three, so it is ignored as before (ids are made by the hub at
 *   acceptance and never reused, decision 0019).
 * - `telemetry_values` is keyed by (msg, idx) with the message's integer `seq`, and its series
 *   index (chan, name, t, v) covers every aggregate. `received_at` and the text ids are gone from
 *   it: a value's message has them.
 *
 * Existing rows are copied in (received time, id) order and the old tables dropped.
 */
export const TELEMETRY_SCHEMA_SQL = `
CREATE TABLE telemetry_channels (
  key INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id TEXT NOT NULL,
  channel_id TEXT NOT NULL
);
CREATE UNIQUE INDEX telemetry_channels_id ON telemetry_channels (org_id, channel_id);

-- senml is the resolved records as JSON text, exactly as given (NULL: not SenML).
CREATE TABLE telemetry_messages (
  seq INTEGER PRIMARY KEY,
  chan INTEGER NOT NULL,
  id TEXT NOT NULL,
  subtopic TEXT NOT NULL,
  publisher_type TEXT NOT NULL,
  publisher_id TEXT NOT NULL,
  protocol TEXT NOT NULL,
  content_type TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  payload BLOB NOT NULL,
  senml TEXT,
  origin TEXT NOT NULL
);
CREATE UNIQUE INDEX telemetry_messages_time ON telemetry_messages (chan, received_at, id);

-- One row per SenML record of a stored message; t is the record time in seconds (REAL).
CREATE TABLE telemetry_values (
  msg INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  chan INTEGER NOT NULL,
  name TEXT NOT NULL,
  t REAL NOT NULL,
  v REAL,
  vs TEXT,
  vb INTEGER,
  vd TEXT,
  u TEXT,
  s REAL,
  PRIMARY KEY (msg, idx)
) WITHOUT ROWID;
CREATE INDEX telemetry_values_series ON telemetry_values (chan, name, t, v);

INSERT INTO telemetry_channels (org_id, channel_id)
  SELECT DISTINCT org_id, channel_id FROM messages ORDER BY org_id, channel_id;
INSERT INTO telemetry_messages (chan, id, subtopic, publisher_type, publisher_id, protocol,
    content_type, received_at, payload, senml, origin)
  SELECT c.key, m.id, m.subtopic, m.publisher_type, m.publisher_id, m.protocol, m.content_type,
    m.received_at, m.payload, m.senml, m.origin
  FROM messages m JOIN telemetry_channels c ON c.org_id = m.org_id AND c.channel_id = m.channel_id
  ORDER BY m.received_at, m.id;
INSERT INTO telemetry_values (msg, idx, chan, name, t, v, vs, vb, vd, u, s)
  SELECT tm.seq, sv.idx, tm.chan, sv.name, sv.t, sv.v, sv.vs, sv.vb, sv.vd, sv.u, sv.s
  FROM senml_values sv
  JOIN messages m ON m.id = sv.message_id
  JOIN telemetry_channels c ON c.org_id = m.org_id AND c.channel_id = m.channel_id
  JOIN telemetry_messages tm
    ON tm.chan = c.key AND tm.received_at = m.received_at AND tm.id = m.id;
DROP TABLE senml_values;
DROP TABLE messages;
`;

/**
 * Migration 24 (issue 12, decision 0024 amendment): SenML values keyed by an integer series.
 * `telemetry_series` gives each (channel key, record name) a small integer `key` (AUTOINCREMENT,
 * never reused; rows are never deleted, so the writer caches keys). `telemetry_values` keeps one
 * row per record keyed by (msg, idx) as before but carries the series key instead of the channel
 * key and the name text, and its series index is (series, t, v): every entry is ~25 bytes instead
 * of ~50 with a device-scoped name (`urn:dev:mac:0024befffe804ff1:temp`), so a batch touching
 * thousands of series dirties half the index pages. Measured with `node bench/sqlite-append.mjs`
 * (same shape, 10,000 series): ~1.4× fewer µs per record.
 */
export const TELEMETRY_SERIES_SQL = `
CREATE TABLE telemetry_series (
  key INTEGER PRIMARY KEY AUTOINCREMENT,
  chan INTEGER NOT NULL,
  name TEXT NOT NULL
);
CREATE UNIQUE INDEX telemetry_series_name ON telemetry_series (chan, name);
INSERT INTO telemetry_series (chan, name)
  SELECT DISTINCT chan, name FROM telemetry_values ORDER BY chan, name;

CREATE TABLE telemetry_values_new (
  msg INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  series INTEGER NOT NULL,
  t REAL NOT NULL,
  v REAL,
  vs TEXT,
  vb INTEGER,
  vd TEXT,
  u TEXT,
  s REAL,
  PRIMARY KEY (msg, idx)
) WITHOUT ROWID;
INSERT INTO telemetry_values_new (msg, idx, series, t, v, vs, vb, vd, u, s)
  SELECT tv.msg, tv.idx, ts.key, tv.t, tv.v, tv.vs, tv.vb, tv.vd, tv.u, tv.s
  FROM telemetry_values tv JOIN telemetry_series ts ON ts.chan = tv.chan AND ts.name = tv.name;
DROP TABLE telemetry_values;
ALTER TABLE telemetry_values_new RENAME TO telemetry_values;
CREATE INDEX telemetry_values_series ON telemetry_values (series, t, v);
`;
