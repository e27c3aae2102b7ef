import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatFields, formatTable, formatValue, shortTime } from '@bulwark/cli';

describe('table formatter', () => {
  test('pads columns to the widest cell, two spaces apart, no trailing spaces', () => {
    const rows = [
      { id: 'a', name: 'pump-1', state: 'active' },
      { id: 'bbbb', name: 'x', state: 'quarantined' },
    ];
    const text = formatTable(rows, [
      { header: 'ID', value: (r) => r.id },
      { header: 'NAME', value: (r) => r.name },
      { header: 'STATE', value: (r) => r.state },
    ]);
    assert.equal(
      text,
      'ID    NAME    STATE\n' + 'a     pump-1  active\n' + 'bbbb  x       quarantined\n',
    );
  });

  test('shortens ISO times to YYYY-MM-DD HH:MM:SS in UTC', () => {
    assert.equal(shortTime('2025-03-04T05:06:07.890Z'), '2025-03-04 05:06:07');
    assert.equal(shortTime('2025-03-04T05:06:07+02:00'), '2025-03-04 03:06:07');
    assert.equal(shortTime('not a time'), 'not a time');
    const text = formatTable(
      [{ at: '2025-03-04T05:06:07.890Z' }],
      [{ header: 'AT', value: (r) => r.at }],
    );
    assert.equal(text, 'AT\n2025-03-04 05:06:07\n');
  });

  test('prints nothing as -, lists comma-joined, numbers and booleans as text', () => {
    assert.equal(formatValue(null), '-');
    assert.equal(formatValue(undefined), '-');
    assert.equal(formatValue([]), '-');
    assert.equal(formatValue(['a', 'b']), 'a,b');
    assert.equal(formatValue(42), '42');
    assert.equal(formatValue(false), 'false');
    assert.equal(formatValue({ a: 1 }), '{"a":1}');
  });

  test('an empty table is its header', () => {
    assert.equal(formatTable([], [{ header: 'ID', value: () => 'x' }]), 'ID\n');
  });

  test('fields align their values', () => {
    assert.equal(
      formatFields([
        ['id', 'x'],
        ['serial', null],
      ]),
      'id      x\nserial  -\n',
    );
  });
});
