/** The hub's config file (decision 0026): precedence, relative paths, and what it refuses. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ConfigError, configFileWarning, loadConfig } from '@bulwark/hub';

describe('hub config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
    return p;
  };

  it('fills settings from the file; BULWARK_* beat the file and flags beat both', () => {
    const f = file('hub.json', {
      'data-dir': 'data',
      'http-port': 9000,
      'mqtt-port': '9001',
      'log-level': 'warn',
      'public-names': ['hub.example.com', '10.0.0.5'],
      'tls-cert': 'tls/cert.pem',
    });
    const c = loadConfig(['--config', f], {});
    assert.equal(c.config, f);
    assert.equal(c.dataDir, join(dir, 'data'), 'paths in the file are relative to the file');
    assert.equal(c.tlsCert, join(dir, 'tls/cert.pem'));
    assert.equal(c.httpPort, 9000);
    assert.equal(c.mqttPort, 9001);
    assert.deepEqual(c.publicNames, ['hub.example.com', '10.0.0.5']);
    const e = loadConfig(['--config', f], {
      BULWARK_HTTP_PORT: '9100',
      BULWARK_LOG_LEVEL: 'error',
    });
    assert.equal(e.httpPort, 9100);
    assert.equal(e.logLevel, 'error');
    const g = loadConfig(['--config', f, '--http-port', '9200'], { BULWARK_HTTP_PORT: '9100' });
    assert.equal(g.httpPort, 9200);
    assert.equal(g.mqttPort, 9001);
    // BULWARK_CONFIG names the file as --config does; the flag wins.
    assert.equal(loadConfig([], { BULWARK_CONFIG: f }).httpPort, 9000);
    const rel = loadConfig(['--config', relative(process.cwd(), f)], {});
    assert.equal(rel.config, f, 'the file is named by its absolute path');
    const other = file('other.json', { 'data-dir': '/tmp/x' });
    assert.equal(loadConfig(['--config', other], { BULWARK_CONFIG: f }).dataDir, '/tmp/x');
  });

  it('refuses unknown keys, wrong types, bad values and unreadable files, naming the file and key', () => {
    const refuses = (body: unknown, re: RegExp) =>
      assert.throws(
        () => loadConfig(['--config', file('bad.json', body)], {}),
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
      );
    refuses(
      { 'data-dir': 'd', 'htp-port': 1 },
      /bad\.json: unknown setting "htp-port"; known: data-dir, /,
    );
    refuses({ 'data-dir': 'd', config: 'x.json' }, /cannot name another/);
    refuses({ dataDir: 'd' }, /unknown setting "dataDir"/);
    refuses({ 'data-dir': 'd', 'http-port': true }, /"http-port" must be a number or a string/);
    refuses({ 'data-dir': 'd', 'log-level': 3 }, /"log-level" must be a string/);
    refuses({ 'data-dir': 'd', 'public-names': [1] }, /"public-names" must be an array of strings/);
    refuses(
      { 'data-dir': 'd', 'http-port': 70000 },
      /"http-port" in .*bad\.json "70000": must be between 0 and 65535/,
    );
    refuses('{"data-dir": ', /is not valid JSON/);
    refuses('[]', /must be a JSON object/);
    refuses(
      { 'http-port': 1 },
      /--data-dir \(or BULWARK_DATA_DIR, or "data-dir" in .*bad\.json\) is required/,
    );
    assert.throws(
      () => loadConfig(['--config', join(dir, 'missing.json')], {}),
      /cannot read the config file .*missing\.json/,
    );
  });

  it('warns when a file others may read holds a password', () => {
    const f = file('secret.json', {
      'data-dir': 'd',
      database: 'postgres://hub:s3cret@db/bulwark',
    });
    chmodSync(f, 0o644);
    assert.match(
      configFileWarning(f) ?? '',
      /holds a password or token and others may read it: chmod 600/,
    );
    chmodSync(f, 0o600);
    assert.equal(configFileWarning(f), undefined);
    const plain = file('plain.json', { 'data-dir': 'd', database: 'postgres://hub@db/bulwark' });
    chmodSync(plain, 0o644);
    assert.equal(configFileWarning(plain), undefined);
  });
});
