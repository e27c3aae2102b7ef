import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeScanner, LineSplitter } from '../src/local/lines.js';

describe('local port line handling', () => {
  it('splits LF and CRLF lines one at a time and keeps the rest for raw mode', () => {
    const s = new LineSplitter(16);
    s.push(Buffer.from('get a\r\nset b 1\npass'));
    assert.equal(s.next(), 'get a');
    assert.equal(s.next(), 'set b 1');
    assert.equal(s.next(), undefined);
    assert.equal(s.overflowed, false);
    assert.deepEqual(s.drain(), Buffer.from('pass'));
    s.push(Buffer.from('x'.repeat(17)));
    assert.equal(s.overflowed, true);
  });

  it('passes bytes through and ends only on a whole "~." line, split anywhere', () => {
    const e = new EscapeScanner();
    const a = e.push(Buffer.from('AT~.\n~x\n'));
    assert.deepEqual(a, {
      forward: Buffer.from('AT~.\n~x\n'),
      escaped: false,
      rest: Buffer.alloc(0),
    });
    assert.deepEqual(e.push(Buffer.from('~')).forward, Buffer.alloc(0));
    assert.deepEqual(e.push(Buffer.from('.\r')).forward, Buffer.alloc(0));
    const end = e.push(Buffer.from('\nget a\n'));
    assert.equal(end.escaped, true);
    assert.deepEqual(end.forward, Buffer.alloc(0));
    assert.deepEqual(end.rest, Buffer.from('get a\n'));
    const f = new EscapeScanner();
    assert.deepEqual(
      f.push(Buffer.from('~.x')).forward,
      Buffer.from('~.x'),
      'not a whole line: data',
    );
  });
});
