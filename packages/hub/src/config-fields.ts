/**
 * Every setting of the hub, with its flag, default and why: one schema that the flags, the
 * `BULWARK_*` environment variables and the config file (config.ts) all fill.
 */

export type Kind = 'string' | 'port' | 'port?' | 'int' | 'list' | 'level' | 'choice';

export interface Field {
  kind: Kind;
  flag: string;
  doc: string;
  default?: string | number | string[];
  min?: number;
  max?: number;
  /** The values a 'choice' may take. */
  choices?: readonly string[];
  /** A file or directory: relative to the config file's directory when set there. */
  path?: boolean;
}

/** Every setting, its flag, its default and why. The env name is BULWARK_ + the flag in CONSTANT_CASE. */
export const CONFIG_FIELDS = {
  // One file for the hub and every admin command run on its data dir (decision 0026), so they
  // cannot disagree about the database.
  config: {
    kind: 'string',
    flag: 'config',
    path: true,
    default: '',
    doc: 'JSON file of settings, keyed by these flag names (e.g. {"data-dir": "/var/lib/bulwark", "database": "postgres://…"}); flags and BULWARK_* variables override it. bulwark admin … and audit verify read it too',
  },
  dataDir: {
    kind: 'string',
    flag: 'data-dir',
    path: true,
    doc: 'Directory for the database, master key, CA bundle and runtime.json',
  },
  httpPort: {
    kind: 'port',
    flag: 'http-port',
    default: 8443,
    doc: 'HTTPS port for the REST API and console (0 = any free port)',
  },
  httpHost: {
    kind: 'string',
    flag: 'http-host',
    default: '0.0.0.0',
    doc: 'Address the HTTPS server binds',
  },
  mqttPort: {
    kind: 'port',
    flag: 'mqtt-port',
    default: 8883,
    doc: 'MQTT over TLS port (0 = any free port); the broker arrives with the messaging release',
  },
  database: {
    kind: 'string',
    flag: 'database',
    default: '',
    doc: 'Empty for SQLite in the data dir, sqlite:PATH, or postgres://… for scale-out',
  },
  // normal by default: an acknowledged message survives a crash of the hub (the kill -9 promise)
  // at several times the rate of full, which adds an fsync per commit to survive power loss too.
  // SQLite has always run at normal; PostgreSQL sessions now do as well (decision 0019).
  durability: {
    kind: 'choice',
    flag: 'durability',
    default: 'normal',
    choices: ['normal', 'full'],
    doc: 'What a stored (acknowledged) write survives: normal = a hub crash (SQLite synchronous=NORMAL, PostgreSQL synchronous_commit=off); full = also power loss and OS or database crashes (FULL / on)',
  },
  databaseSchema: {
    kind: 'string',
    flag: 'database-schema',
    default: 'public',
    doc: 'PostgreSQL schema holding the tables',
  },
  bus: {
    kind: 'string',
    flag: 'bus',
    default: 'memory',
    doc: 'Message bus: memory (in-process, one node) or nats://host:port[,…] (tls://… for TLS): NATS JetStream, shared by every node of a cluster',
  },
  // Where firmware images live (decision 0021): every node of a cluster must serve the images any
  // node accepted, so with a NATS bus they go to JetStream's object store unless told otherwise.
  blobs: {
    kind: 'string',
    flag: 'blobs',
    default: 'auto',
    doc: 'Firmware image store: auto (nats with a NATS --bus, else fs), fs (DATA_DIR/blobs, one node only) or nats (the JetStream object store)',
  },
  // One NATS may serve several deployments (staging and production, or tenants of an operator):
  // each one's streams, subjects and bucket carry its prefix, so none sees another's messages.
  natsPrefix: {
    kind: 'string',
    flag: 'nats-prefix',
    default: 'bulwark',
    doc: 'Deployment name on NATS: streams <PREFIX>_MESSAGES and <PREFIX>_EVENTS, subjects <prefix>.msg.> and <prefix>.evt.>, object store bucket <PREFIX>_BLOBS (lower-case letters, digits, - and _)',
  },
  // 3 survives the loss of one NATS server; 5 two. More only slows every write.
  natsReplicas: {
    kind: 'int',
    flag: 'nats-replicas',
    default: 1,
    min: 1,
    max: 5,
    doc: 'Replicas of the streams and the bucket in a NATS cluster (3 in production)',
  },
  natsTlsCa: {
    kind: 'string',
    flag: 'nats-tls-ca',
    path: true,
    default: '',
    doc: 'PEM CA bundle to verify the NATS servers with (turns TLS on)',
  },
  natsTlsCert: {
    kind: 'string',
    flag: 'nats-tls-cert',
    path: true,
    default: '',
    doc: 'PEM client certificate for NATS (with --nats-tls-key; turns TLS on)',
  },
  natsTlsKey: {
    kind: 'string',
    flag: 'nats-tls-key',
    path: true,
    default: '',
    doc: 'PEM private key of --nats-tls-cert',
  },
  natsUser: { kind: 'string', flag: 'nats-user', default: '', doc: 'NATS user name' },
  natsPassword: {
    kind: 'string',
    flag: 'nats-password',
    default: '',
    doc: 'NATS password of --nats-user (prefer the environment variable: flags show in ps)',
  },
  natsToken: {
    kind: 'string',
    flag: 'nats-token',
    default: '',
    doc: 'NATS authentication token (prefer the environment variable)',
  },
  natsCreds: {
    kind: 'string',
    flag: 'nats-creds',
    path: true,
    default: '',
    doc: 'NATS .creds file (user JWT and nkey seed) for decentralized authentication',
  },
  masterKeyFile: {
    kind: 'string',
    flag: 'master-key-file',
    path: true,
    default: '',
    doc: 'File with the 32-byte master key (hex); default DATA_DIR/master.key, made on first start with mode 0600',
  },
  tlsCert: {
    kind: 'string',
    flag: 'tls-cert',
    path: true,
    default: '',
    doc: "PEM server certificate chain to use instead of one from the hub's own CA (re-read on SIGHUP, with --tls-key and --tls-ca)",
  },
  tlsKey: {
    kind: 'string',
    flag: 'tls-key',
    path: true,
    default: '',
    doc: 'PEM private key of --tls-cert',
  },
  // Devices and the CLI trust exactly the bundle the hub hands them (decision 0025): it must
  // reach the root of whatever signs --tls-cert, which the chain in that file usually stops short of.
  tlsCa: {
    kind: 'string',
    flag: 'tls-ca',
    path: true,
    default: '',
    doc: "PEM certificates of the CA that signs --tls-cert, up to its root; handed to devices and the CLI beside the hub's own CA. Default: the certificates after the first in --tls-cert, completed with a root from Node's trust store",
  },
  publicNames: {
    kind: 'list',
    flag: 'public-names',
    default: [],
    doc: "DNS names or IPs devices and clients reach the hub at, added to the hub-made server certificate beside the host's own names and addresses (comma-separated)",
  },
  // Links the hub hands to devices (hawkBit DDI `_links`) must not echo the request's Host header,
  // which any client sets: an attacker in the path could point a device's downloads elsewhere.
  publicUrl: {
    kind: 'string',
    flag: 'public-url',
    default: '',
    doc: 'HTTPS origin devices reach the hub at (https://name[:port]), used in the links the hub sends; default https://<first --public-names entry, else the bound address>:<HTTPS port>',
  },
  logLevel: {
    kind: 'level',
    flag: 'log-level',
    default: 'info',
    doc: 'fatal, error, warn, info, debug or trace',
  },
  // 1 MiB is far above any API body (a CSR is ~1 KiB) and well below what could pressure memory.
  maxBodyBytes: {
    kind: 'int',
    flag: 'max-body-bytes',
    default: 1024 * 1024,
    min: 1024,
    max: 64 * 1024 * 1024,
    doc: 'Largest accepted HTTP request body',
  },
  // ln=15 (32 MiB, ~60 ms) is the floor we accept: lower is no longer memory-hard enough.
  scryptLn: {
    kind: 'int',
    flag: 'scrypt-ln',
    default: 15,
    min: 15,
    max: 20,
    doc: 'scrypt cost exponent for password hashes (N = 2^ln)',
  },
  // MQTT 5's own ceiling is 256 MiB; 256 KiB keeps one device from pinning memory or storage.
  maxPayloadBytes: {
    kind: 'int',
    flag: 'max-payload-bytes',
    default: 256 * 1024,
    min: 1,
    max: 16 * 1024 * 1024,
    doc: 'Largest accepted message payload (MQTT, HTTP, CoAP)',
  },
  // ~2-3 s of the goal rate (decision 0019); from half of it MQTT connections stop reading
  // (backpressure, decision 0033), so honest publishers are slowed, not refused.
  writerQueue: {
    kind: 'int',
    flag: 'writer-queue',
    default: 50_000,
    min: 100,
    max: 10_000_000,
    doc: 'Messages waiting for the storage writer beyond which writes are refused (quota exceeded); from half of it MQTT connections stop reading until it drains to a quarter',
  },
  // Messages read off MQTT connections and not yet stored and acknowledged, all connections
  // together: past it connections stop reading, so a backlog waits in sockets, not in the heap.
  mqttInboundBudget: {
    kind: 'int',
    flag: 'mqtt-inbound-budget',
    default: 4_000,
    min: 0,
    max: 10_000_000,
    doc: "MQTT messages read and not yet finished (authorized, stored, acknowledged) across all connections beyond which connections stop reading until it falls to three quarters (0 = no bound beyond each connection's window)",
  },
  // Images are streamed to disk, never buffered, so the cap bounds disk use, not memory.
  maxImageBytes: {
    kind: 'int',
    flag: 'max-image-bytes',
    default: 512 * 1024 * 1024,
    min: 1024,
    max: 8 * 1024 * 1024 * 1024,
    doc: 'Largest accepted firmware image (decision 0007)',
  },
  mqttOpenPort: {
    kind: 'port?',
    flag: 'mqtt-open-port',
    default: '',
    doc: 'Plain-TCP MQTT listener in OPEN mode (anonymous, no storage; for conformance and benchmarks). Off unless given',
  },
  mqttOpenHost: {
    kind: 'string',
    flag: 'mqtt-open-host',
    default: '127.0.0.1',
    doc: 'Address of the open-mode listener (loopback unless you really mean it)',
  },
  coapPort: {
    kind: 'port?',
    flag: 'coap-port',
    default: '',
    doc: 'CoAP over UDP (device keys; no DTLS yet, so off unless given; 0 = any free port)',
  },
  coapHost: {
    kind: 'string',
    flag: 'coap-host',
    default: '127.0.0.1',
    doc: 'Address CoAP binds (loopback by default while it has no transport security)',
  },
  lwm2mPort: {
    kind: 'port?',
    flag: 'lwm2m-port',
    default: '',
    doc: 'LwM2M 1.1 server over plain CoAP/UDP (decision 0043; endpoints register unauthenticated, so trusted networks only; off unless given; 0 = any free port)',
  },
  lwm2mHost: {
    kind: 'string',
    flag: 'lwm2m-host',
    default: '127.0.0.1',
    doc: 'Address the LwM2M server binds (loopback by default: plain CoAP has no transport security)',
  },
  lwm2msPort: {
    kind: 'port?',
    flag: 'lwm2ms-port',
    default: '',
    doc: 'LwM2M 1.1 server over DTLS 1.2 with pre-shared keys, device certificates or pinned raw public keys (the credential names the device; 5684 is the registered port; off unless given; 0 = any free port)',
  },
  lwm2msHost: {
    kind: 'string',
    flag: 'lwm2ms-host',
    default: '0.0.0.0',
    doc: 'Address LwM2M over DTLS binds (every interface: DTLS protects it)',
  },
  lwm2mServerUri: {
    kind: 'string',
    flag: 'lwm2m-server-uri',
    default: '',
    doc: 'The DM server URI the LwM2M bootstrap server (POST /bs on --lwm2ms-port) writes to devices; empty: coaps://<--lwm2ms-host, 127.0.0.1 when it is every interface>:<its port>',
  },
  // Issue 17's goal is 10,000 registrations per hub; twice that leaves headroom, and each one is a
  // few KB of memory, so the cap keeps a registration flood from growing the heap without bound.
  lwm2mMaxRegistrations: {
    kind: 'int',
    flag: 'lwm2m-max-registrations',
    default: 20000,
    min: 1,
    max: 1000000,
    doc: 'LwM2M registrations one hub node holds; beyond it Register gets 5.03',
  },
  // Core §6.5: a client in queue mode listens for MAX_TRANSMIT_WAIT (93 s) after each message it
  // sends; requests for it are held in between. Tests shorten it.
  lwm2mQueueAwakeSeconds: {
    kind: 'int',
    flag: 'lwm2m-queue-awake-seconds',
    default: 93,
    min: 1,
    max: 3600,
    doc: 'How long an LwM2M client in queue mode is taken to listen after each message it sends; requests for it wait for its next message otherwise',
  },
  coapsPort: {
    kind: 'port?',
    flag: 'coaps-port',
    default: '',
    doc: 'CoAP over DTLS 1.2 with pre-shared keys (5684 is its registered port; off unless given; 0 = any free port)',
  },
  coapsHost: {
    kind: 'string',
    flag: 'coaps-host',
    default: '0.0.0.0',
    doc: 'Address CoAP over DTLS binds (every interface: DTLS protects it)',
  },
  deviceCertDays: {
    kind: 'int',
    flag: 'device-cert-days',
    default: 365,
    min: 1,
    max: 3650,
    doc: 'Validity of device certificates',
  },
  // The agent switches to its new certificate right after renewing and retries a lost answer
  // within minutes (getting the same certificate back), so an hour covers a restart mid-renewal;
  // it is also as long as a thief's copy of a superseded key keeps working. A day at most.
  certOverlapSeconds: {
    kind: 'int',
    flag: 'cert-overlap-seconds',
    default: 3600,
    min: 60,
    max: 86400,
    doc: 'How long a renewed device certificate stays valid beside its successor (then superseded)',
  },
  // The agent renews once, at 2/3 of a certificate's lifetime, and at most once an hour; 4 a day
  // leaves room for retries and a re-renewal, and caps what a stolen key can mint before it is
  // revoked (revoking it revokes every certificate renewed from it).
  certRenewalsPerDay: {
    kind: 'int',
    flag: 'cert-renewals-per-day',
    default: 4,
    min: 1,
    max: 100,
    doc: 'Certificate renewals a device may make in any 24 hours',
  },
  // Each tick reads every running rollout's target and jobs; 2 s keeps a rollout responsive (a
  // phase opens within seconds of the last job finishing) without a busy database. 100 ms is for
  // tests; a minute is the slowest that still makes per-minute rate limits meaningful.
  rolloutTickMs: {
    kind: 'int',
    flag: 'rollout-tick-ms',
    default: 2000,
    min: 100,
    max: 60_000,
    doc: 'How often the hub steps running rollouts and awake auto-upgrade policies (decision 0011)',
  },
  // Deliveries queued by an alert are sent at once (the router pokes the worker); the tick picks
  // up retries and escalations that came due. 1 s keeps retries near their backoff time; a
  // minute is the coarsest that still lets a 5 s first retry mean something.
  notifyTickMs: {
    kind: 'int',
    flag: 'notify-tick-ms',
    default: 1000,
    min: 100,
    max: 60_000,
    doc: 'How often the hub sends due notification deliveries, retries and escalations (decision 0030)',
  },
  // hawkBit's own default is 5 minutes; a minute lets a deploy start soon while 10,000 controllers
  // still make only ~170 small requests a second. 1 s is for tests; a day is plenty for anyone.
  // Each organization is a tenant with its own CA and data; 20 is far above what one person
  // administers, and an unlimited number lets one account grow the database without bound.
  maxOrgsPerUser: {
    kind: 'int',
    flag: 'max-orgs-per-user',
    default: 20,
    min: 1,
    max: 10_000,
    doc: 'Organizations one user may create or belong to',
  },
  // Failed device/app credentials one address may present in a minute before it waits (10 s,
  // doubling to 5 min): a scan is stopped, a NAT full of devices reconnecting with backoff is not.
  // Raised in tests that refuse many credentials from loopback on purpose.
  edgeFailuresPerSource: {
    kind: 'int',
    flag: 'edge-failures-per-source',
    default: 20,
    min: 1,
    max: 1_000_000,
    doc: 'Failed MQTT/HTTP/DDI/CoAP authentications per source address per minute before it is throttled',
  },
  // Decision 0036 (block_source): addresses a mitigation may never block. The hub's own loopback
  // by default — local operators, the CLI, a gateway or a TLS proxy on the host connect from there,
  // and a block on a proxy's address would let a remote guesser have the whole fleet refused. A
  // hub behind a load balancer adds the balancer's addresses here.
  edgeNeverBlock: {
    kind: 'list',
    flag: 'edge-never-block',
    default: ['127.0.0.1', '::1'],
    doc: "IP addresses a block_source mitigation may never block (comma-separated): the hub host's loopback, and the addresses of any proxy or load balancer in front of the hub",
  },
  // Decision 0027. Twenty refused claims in ten minutes is past any honest retrying of a
  // misconfigured device; a factory behind one NAT with many bad devices may need more.
  claimFailuresPerSource: {
    kind: 'int',
    flag: 'claim-failures-per-source',
    default: 20,
    min: 1,
    max: 1_000_000,
    doc: 'Refused provisioning claims per source address in 10 minutes before it must wait (30 s, doubling to 15 min)',
  },
  // Decision 0027. Ten a second: a factory line or a mass first boot, not a minting machine for
  // whoever holds a leaked claim token.
  claimsPerMinute: {
    kind: 'int',
    flag: 'claims-per-minute',
    default: 600,
    min: 1,
    max: 1_000_000,
    doc: 'Devices one provisioning claim provisions per minute at most (per hub node)',
  },
  // Decision 0032. Two weeks covers "what happened last week" without a log archive's disk bill;
  // 0 keeps records however old (the row limit still holds).
  logRetentionDays: {
    kind: 'int',
    flag: 'log-retention-days',
    default: 14,
    min: 0,
    max: 3650,
    doc: 'Days device log records are kept (0: no age limit)',
  },
  // Decision 0032. 100,000 lines (~20 MB) per device bounds what one chatty or hostile device can
  // make the hub store; 0 lifts the limit (the age limit still holds).
  logMaxRowsPerDevice: {
    kind: 'int',
    flag: 'log-max-rows-per-device',
    default: 100_000,
    min: 0,
    max: 100_000_000,
    doc: 'Device log records kept per device, the oldest pruned first (0: no count limit)',
  },
  // Decision 0038 (third amendment of 2026-12-07). A week answers "since last Monday" on the
  // device page; at 1,000 devices reporting every 30 s that is ~20 million rows, 1.3 GiB on
  // SQLite and 3.2 GiB on PostgreSQL (bench:metrics-history). 0 keeps no history (the latest
  // report is still shown).
  metricsHistoryDays: {
    kind: 'int',
    flag: 'metrics-history-days',
    default: 7,
    min: 0,
    max: 366,
    doc: 'Days the health history (each kept metrics report) is kept for the device page charts (0: keep none)',
  },
  // The agent reports every 60 s by default; a device reporting faster has one report kept per
  // interval, so one chatty or hostile device cannot make the hub store more.
  metricsHistoryIntervalSeconds: {
    kind: 'int',
    flag: 'metrics-history-interval-seconds',
    default: 20,
    min: 1,
    max: 3600,
    doc: 'A device has at most one metrics report kept in its health history per this many seconds',
  },
  // Decision 0022. A ticket lives at most as long as the key that sealed it (Node's TLS opens
  // tickets with one key), and TLS 1.3 caps a ticket at 7 days (RFC 8446 §4.6.1): a week lets
  // a fleet that connected after last week's deploy resume after this one.
  tlsTicketKeyHours: {
    kind: 'int',
    flag: 'tls-ticket-key-hours',
    default: 168,
    min: 1,
    max: 168,
    doc: 'Hours each shared TLS session-ticket key seals and opens tickets before the next one takes over (same on every node)',
  },
  // A slot lasts the handshake's round trips, so this ÷ RTT bounds the rate (512 at 1 s RTT: 500/s);
  // × ~2 ms CPU each bounds a newcomer's wait well inside a device's 10 s connect timeout.
  mqttHandshakes: {
    kind: 'int',
    flag: 'mqtt-handshakes',
    default: 512,
    min: 1,
    max: 10_000,
    doc: 'MQTT/TLS connections in their handshake and admission at once; later ones wait in arrival order',
  },
  // ~10 s of full handshakes on two cores: a client waiting longer would have timed out anyway.
  mqttPendingConnections: {
    kind: 'int',
    flag: 'mqtt-pending-connections',
    default: 10_000,
    min: 0,
    max: 1_000_000,
    doc: 'MQTT/TLS connections waiting for a handshake slot; past this, CONNACK "server busy" (0x89)',
  },
  ddiPollSeconds: {
    kind: 'int',
    flag: 'ddi-poll-seconds',
    default: 60,
    min: 1,
    max: 86400,
    doc: 'Polling interval announced to hawkBit DDI controllers (decision 0012)',
  },
  // Decision 0034 (amendment of 2026-12-07). Security monitoring's detection rules on by default;
  // off stops this node counting and judging (no detection alerts, no baselines learned) — to
  // measure what monitoring costs, or on a node that must not spend the CPU. Audit checks,
  // mitigations, alerts and notifications stay on.
  detect: {
    kind: 'choice',
    flag: 'detect',
    default: 'on',
    choices: ['on', 'off'],
    doc: 'Security monitoring on this node: on = detection rules count and judge device traffic, edge events and agent reports (decision 0034); off = nothing is counted, learned or raised by detection (audit checks, mitigations and notifications still run)',
  },
  // Decision 0031. The fleet audit checks: a daily pass finds what drifts slowly (expiries,
  // unused keys, old firmware) long before it bites; one node runs each pass. A run reads every
  // device's certificates, so an hour is the floor on a large fleet; `bulwark checks run` any time.
  checksIntervalHours: {
    kind: 'int',
    flag: 'checks-interval-hours',
    default: 24,
    min: 1,
    max: 24 * 30,
    doc: 'Hours between scheduled passes of the fleet audit checks (one hub node runs each pass)',
  },
  checksHubOrg: {
    kind: 'string',
    flag: 'checks-hub-org',
    default: '',
    doc: 'Organization id that operates the hub and sees its configuration findings (hub.*); empty: the oldest organization (the one first-start setup made)',
  },
  // A month leaves time to find a device that stopped renewing; a week is the last call (high).
  checksCertExpiryDays: {
    kind: 'int',
    flag: 'checks-cert-expiry-days',
    default: 30,
    min: 1,
    max: 365,
    doc: 'A device certificate expiring within this many days without a successor is a finding',
  },
  // Device certificates live --device-cert-days (365) and are renewed; an older live one was
  // issued with a longer validity than policy.
  checksCertMaxAgeDays: {
    kind: 'int',
    flag: 'checks-cert-max-age-days',
    default: 365,
    min: 1,
    max: 3650,
    doc: 'A live device certificate issued longer ago than this is a finding (policy age)',
  },
  checksApiKeyUnusedDays: {
    kind: 'int',
    flag: 'checks-api-key-unused-days',
    default: 90,
    min: 1,
    max: 3650,
    doc: 'An API key unused (or never used since created) for this many days is a finding',
  },
  checksMaxPublishChannels: {
    kind: 'int',
    flag: 'checks-max-publish-channels',
    default: 20,
    min: 1,
    max: 100_000,
    doc: 'A device allowed to publish on more channels than this is a finding',
  },
  checksFirmwareStaleDays: {
    kind: 'int',
    flag: 'checks-firmware-stale-days',
    default: 180,
    min: 1,
    max: 3650,
    doc: 'A device whose type has had a newer ready firmware release for this many days is a finding',
  },
  // CAs live for years; a quarter is time to plan and roll a rotation.
  checksCaExpiryDays: {
    kind: 'int',
    flag: 'checks-ca-expiry-days',
    default: 90,
    min: 1,
    max: 3650,
    doc: 'An organization CA expiring within this many days is a finding',
  },
} as const satisfies Record<string, Field>;
