import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_RULES, compileCustomPatterns, REDACTED, Redactor } from '../src/logs/redact.js';
import { LogRateLimiter } from '../src/logs/rate-limit.js';
import { parseAgentConfig } from '../src/config.js';

const base = {
  hubUrl: 'https://hub.example:8443',
  mqttUrl: 'mqtts://hub.example:8883',
  caFile: '/etc/bulwark/ca.pem',
  stateDir: '/var/lib/bulwark',
};

describe('log redaction: every built-in pattern', () => {
  const r = new Redactor();
  const cases: [rule: string, input: string, expected: string, secret: string][] = [
    [
      'pem-private-key',
      'key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbits\n-----END RSA PRIVATE KEY----- done',
      `key: -----BEGIN RSA PRIVATE KEY----- ${REDACTED} -----END RSA PRIVATE KEY----- done`,
      'MIIEowIBAAKCAQEAsecretbits',
    ],
    [
      'json-secret',
      '{"user":"ann","password":"hunter2","db_token": "t0k\\"en"}',
      `{"user":"ann","password":"${REDACTED}","db_token": "${REDACTED}"}`,
      'hunter2',
    ],
    [
      'authorization-header',
      'GET /x Authorization: Basic dXNlcjpwYXNz host=a',
      `GET /x Authorization: Basic ${REDACTED} host=a`,
      'dXNlcjpwYXNz',
    ],
    [
      'bearer-token',
      'calling api with bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig-_x ok',
      `calling api with bearer ${REDACTED} ok`,
      'eyJhbGciOiJIUzI1NiJ9',
    ],
    [
      'aws-secret-access-key',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      `aws_secret_access_key = ${REDACTED}`,
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ],
    [
      'aws-access-key-id',
      'using key AKIAIOSFODNN7EXAMPLE for s3',
      `using key ${REDACTED} for s3`,
      'AKIAIOSFODNN7EXAMPLE',
    ],
    [
      'key-value-secret',
      'login user=bob password=s3cr3t&token=abc123 secret: "x y" api_key=k1, ok',
      `login user=bob password=${REDACTED}&token=${REDACTED} secret: ${REDACTED} api_key=${REDACTED}, ok`,
      's3cr3t',
    ],
  ];
  for (const [rule, input, expected, secret] of cases) {
    it(`${rule}: the secret is gone, the rest of the line stays`, () => {
      assert.ok(BUILTIN_RULES.some((b) => b.name === rule));
      const out = r.text(input);
      assert.equal(out, expected);
      assert.ok(!out.includes(secret));
    });
  }

  it('a private key spread over the lines of a file: nothing from BEGIN to END goes out', () => {
    const lines = [
      'starting',
      '-----BEGIN PRIVATE KEY-----',
      'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg',
      'c2VjcmV0IGJ5dGVz',
      '-----END PRIVATE KEY----- and after',
      'next line',
    ].map((l) => r.line('file:/a', l));
    assert.deepEqual(lines, [
      'starting',
      `-----BEGIN PRIVATE KEY----- ${REDACTED}`,
      REDACTED,
      REDACTED,
      `${REDACTED} -----END PRIVATE KEY----- and after`,
      'next line',
    ]);
    assert.equal(r.line('file:/b', 'other source'), 'other source', 'state is per source');
  });

  it('configured patterns are applied after the built-ins; a bad one is refused naming it', () => {
    const custom = new Redactor(
      compileCustomPatterns(['serial=[0-9]+', 'ssn \\d{3}-\\d{2}-\\d{4}']),
    );
    assert.equal(
      custom.text('dev serial=12345 ssn 123-45-6789 password=x'),
      `dev ${REDACTED} ${REDACTED} password=${REDACTED}`,
    );
    assert.deepEqual(custom.fields({ user: 'serial=9', pid: 4 }), { user: REDACTED, pid: 4 });
    assert.throws(
      () => parseAgentConfig({ ...base, logs: { redact: ['ok', '(unclosed'] } }),
      /logs\.redact\[1\]/,
    );
  });

  it('a line without secrets is unchanged', () => {
    const line = 'GET /api/v1/devices 200 12ms user-agent=curl/8.0 tokens_used=3';
    assert.equal(r.text(line), line);
  });
});

describe('log rate limit per source', () => {
  it('admits a burst, then the rate; counts what it cut and says so once the source is admitted again', () => {
    let t = 0;
    const l = new LogRateLimiter(10, 20, () => t);
    let ok = 0;
    for (let i = 0; i < 50; i++) if (l.admit('app').ok) ok++;
    assert.equal(ok, 20, 'the burst');
    assert.equal(l.suppressedTotal, 30);
    assert.equal(l.admit('other').ok, true, 'another source has its own bucket');
    t += 100; // one line's worth at 10/s
    const next = l.admit('app');
    assert.equal(next.ok, true);
    assert.equal(next.marker?.suppressed, 30);
    assert.equal(next.marker?.message, 'suppressed 30 lines (rate limit 10 lines/s)');
    assert.equal(next.marker?.source, 'app');
    assert.equal(l.admit('app').ok, false);
    assert.equal(l.admit('app').marker, undefined, 'no marker on a refused line');
  });

  it('a source that went quiet after being cut gets its marker from the sweep', () => {
    let t = 0;
    const l = new LogRateLimiter(1, 1, () => t);
    l.admit('a');
    l.admit('a');
    l.admit('a');
    assert.deepEqual(l.sweep(), [], 'still being cut: no marker yet');
    t += 1500;
    const m = l.sweep();
    assert.equal(m.length, 1);
    assert.equal(m[0]!.suppressed, 2);
    assert.deepEqual(l.sweep(), []);
  });

  it('config: defaults, bounds, unknown keys', () => {
    const c = parseAgentConfig(base);
    assert.equal(c.logs.enabled, true);
    assert.equal(c.logs.agent, 'info');
    assert.deepEqual(c.logs.rateLimit, { linesPerSecond: 100, burst: 200 });
    assert.equal(c.logs.buffer.maxBytes, 8 * 1024 * 1024);
    assert.deepEqual(c.logs.journal, { enabled: false, units: [], command: ['journalctl'] });
    const f = parseAgentConfig(
      { ...base, logs: { files: [{ path: 'app.log', level: 'warning' }] } },
      '/etc/bulwark',
    );
    assert.deepEqual(f.logs.files, [
      {
        path: '/etc/bulwark/app.log',
        source: 'file:/etc/bulwark/app.log',
        level: 'warning',
        fromStart: false,
      },
    ]);
    assert.throws(() => parseAgentConfig({ ...base, logs: { nope: 1 } }), /unknown key logs\.nope/);
    assert.throws(
      () => parseAgentConfig({ ...base, logs: { batch: { maxRecords: 501 } } }),
      /logs\.batch\.maxRecords must be a whole number from 1 to 500/,
    );
    assert.throws(
      () => parseAgentConfig({ ...base, logs: { files: [{ level: 'loud', path: 'x' }] } }),
      /logs\.files\[0\]\.level must be one of/,
    );
  });
});
