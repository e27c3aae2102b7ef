import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, resolveConnection } from '@bulwark/cli';

describe('hub connection resolution', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
    mkdirSync(join(dir, '.bulwark'));
    writeFileSync(
      join(dir, '.bulwark', 'runtime.json'),
      JSON.stringify({ url: 'https://127.0.0.1:8443', caFile: '/abs/ca.pem', httpPort: 8443 }),
    );
    mkdirSync(join(dir, 'other'));
    writeFileSync(
      join(dir, 'other', 'runtime.json'),
      JSON.stringify({ url: 'https://127.0.0.1:9443', caFile: 'ca.pem' }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads url and caFile from ./.bulwark/runtime.json by default', () => {
    const c = resolveConnection({}, { BULWARK_API_KEY: 'bwk_x' }, dir);
    assert.equal(c.url, 'https://127.0.0.1:8443');
    assert.equal(c.caFile, '/abs/ca.pem');
    assert.equal(c.token, 'bwk_x');
    assert.equal(c.source, join(dir, '.bulwark', 'runtime.json'));
  });

  test('--data-dir and BULWARK_DATA_DIR pick another runtime.json; a relative caFile is under it', () => {
    const a = resolveConnection({ dataDir: 'other' }, {}, dir);
    assert.equal(a.url, 'https://127.0.0.1:9443');
    assert.equal(a.caFile, join(dir, 'other', 'ca.pem'));
    assert.equal(a.token, undefined);
    const b = resolveConnection({}, { BULWARK_DATA_DIR: join(dir, 'other') }, '/');
    assert.equal(b.url, 'https://127.0.0.1:9443');
  });

  test('--ca and BULWARK_CA override the runtime.json CA', () => {
    assert.equal(resolveConnection({ ca: 'mine.pem' }, {}, dir).caFile, join(dir, 'mine.pem'));
    assert.equal(resolveConnection({}, { BULWARK_CA: '/x/ca.pem' }, dir).caFile, '/x/ca.pem');
  });

  test('--hub wins over BULWARK_HUB, which wins over runtime.json', () => {
    const env = { BULWARK_HUB: 'https://env:1', BULWARK_TOKEN: 'jwt' };
    const a = resolveConnection({ hub: 'https://flag:1' }, env, dir);
    assert.equal(a.url, 'https://flag:1');
    assert.equal(a.caFile, undefined, 'an explicit hub does not borrow the local CA');
    assert.equal(a.token, 'jwt');
    assert.equal(resolveConnection({}, env, dir).url, 'https://env:1');
    assert.equal(resolveConnection({}, env, dir).source, 'BULWARK_HUB');
  });

  test('BULWARK_API_KEY is preferred over BULWARK_TOKEN', () => {
    const c = resolveConnection(
      { hub: 'https://h' },
      { BULWARK_API_KEY: 'k', BULWARK_TOKEN: 't' },
      dir,
    );
    assert.equal(c.token, 'k');
  });

  test('no hub anywhere is a clear error', () => {
    assert.throws(
      () => resolveConnection({ dataDir: 'missing' }, {}, dir),
      (err: unknown) =>
        err instanceof CliError &&
        /no hub configured: pass --hub URL or set BULWARK_HUB/.test(err.message),
    );
  });
});
