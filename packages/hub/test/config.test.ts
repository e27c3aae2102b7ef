import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@bulwark/hub';

describe('hub configuration', () => {
  it('has visible defaults and resolves the data dir', () => {
    const c = loadConfig(['--data-dir', 'x'], {});
    assert.equal(c.httpPort, 8443);
    assert.equal(c.mqttPort, 8883);
    assert.equal(c.database, '');
    assert.ok(c.dataDir.endsWith('/x'));
    assert.ok(Object.isFrozen(c));
  });
  it('takes BULWARK_* variables, and flags win over them', () => {
    const c = loadConfig(['--http-port', '0'], {
      BULWARK_DATA_DIR: '/tmp/d',
      BULWARK_HTTP_PORT: '9000',
      BULWARK_MQTT_PORT: '0',
    });
    assert.equal(c.dataDir, '/tmp/d');
    assert.equal(c.httpPort, 0);
    assert.equal(c.mqttPort, 0);
  });
  it('takes the durability as normal (default) or full, and refuses anything else', () => {
    assert.equal(loadConfig(['--data-dir', 'x'], {}).durability, 'normal');
    assert.equal(
      loadConfig(['--data-dir', 'x'], { BULWARK_DURABILITY: 'full' }).durability,
      'full',
    );
    assert.equal(
      loadConfig(['--data-dir', 'x', '--durability', 'normal'], { BULWARK_DURABILITY: 'full' })
        .durability,
      'normal',
    );
    assert.throws(
      () => loadConfig(['--data-dir', 'x', '--durability', 'FULL'], {}),
      /--durability "FULL": must be one of normal, full/,
    );
  });
  it('refuses an unknown flag, naming it', () => {
    assert.throws(
      () => loadConfig(['--data-dir', 'x', '--htp-port', '1'], {}),
      (e: unknown) => e instanceof ConfigError && /htp-port/.test(e.message),
    );
  });
  it('refuses an unknown BULWARK_ variable, naming it', () => {
    assert.throws(
      () => loadConfig(['--data-dir', 'x'], { BULWARK_HTTP_PROT: '1' }),
      /BULWARK_HTTP_PROT/,
    );
  });
  it('ignores the variables that belong to the CLI', () => {
    loadConfig(['--data-dir', 'x'], { BULWARK_API_KEY: 'k', BULWARK_HUB: 'h', BULWARK_CA: 'c' });
  });
  it('validates values with a clear message', () => {
    assert.throws(
      () => loadConfig(['--data-dir', 'x', '--http-port', '70000'], {}),
      /between 0 and 65535/,
    );
    assert.throws(
      () => loadConfig(['--data-dir', 'x', '--http-port', 'eighty'], {}),
      /whole number/,
    );
    assert.throws(() => loadConfig(['--data-dir', 'x', '--log-level', 'loud'], {}), /one of/);
    assert.throws(
      () => loadConfig(['--data-dir', 'x', '--scrypt-ln', '10'], {}),
      /between 15 and 20/,
    );
    assert.throws(() => loadConfig([], {}), /--data-dir .* is required/);
  });
});
