import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileTail } from '../src/logs/file-tail.js';
import { journalArgs, JournalSource, parseJournalLine } from '../src/logs/journal.js';
import { LogBuffer } from '../src/logs/log-buffer.js';
import { DirFiles } from '../src/files/dir-files.js';
import { MemoryFiles } from '../src/files/memory-files.js';
import type { DeviceLogBatch, DeviceLogRecord } from '@bulwark/protocol';
import { cleanup, tempDir, waitFor } from './helpers.js';

const FIXTURE = join(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../test/fixtures/journal-sample.jsonl',
);
const rec = (i: number, message = `line ${i}`): DeviceLogRecord => ({
  ts: new Date(1_733_500_000_000 + i).toISOString(),
  level: 'info',
  source: 'agent',
  message,
});
const dec = new TextDecoder();
const body = (p: Uint8Array) => JSON.parse(dec.decode(p)) as DeviceLogBatch;

describe('log buffer on disk', () => {
  it('is bounded: when full it drops the oldest batches and counts their records', async () => {
    const files = new MemoryFiles();
    const { buffer } = await LogBuffer.open(files, { maxBytes: 1 << 20, maxBatches: 3 }, () => 't');
    for (let b = 0; b < 5; b++)
      await buffer.push([rec(b * 10), rec(b * 10 + 1), rec(b * 10 + 2), rec(b * 10 + 3)], b);
    assert.equal(buffer.length, 3);
    assert.equal(buffer.droppedTotal, 8, 'two batches of four records');
    assert.equal(buffer.pendingDropped, 8);
    const sent = await buffer.peek(10);
    assert.deepEqual(
      sent.map((e) => body(e.payload).records[0]!.message),
      ['line 20', 'line 30', 'line 40'],
      'the oldest went, the newest stayed, in order',
    );
    assert.equal(body(sent[0]!.payload).dropped, 8, 'the count rides on the next batch sent');
    assert.equal(body(sent[1]!.payload).dropped, undefined);
    assert.equal(sent[0]!.topic, 't');
  });

  it('a byte bound too, and the count is cleared only once the hub acknowledged the batch carrying it', async () => {
    const files = new MemoryFiles();
    const big = 'x'.repeat(3000);
    const { buffer } = await LogBuffer.open(files, { maxBytes: 8000, maxBatches: 100 }, () => 't');
    for (let i = 0; i < 4; i++) await buffer.push([rec(i, big)], i);
    assert.ok(buffer.sizeBytes <= 8000);
    assert.equal(buffer.pendingDropped, 2);
    const [first] = await buffer.peek(1);
    // The round failed (link dropped): the next round carries the count again.
    const [again] = await buffer.peek(1);
    assert.equal(again!.seq, first!.seq);
    assert.equal(body(again!.payload).dropped, 2);
    await buffer.ack(again!.seq);
    assert.equal(buffer.pendingDropped, 0);
    const [next] = await buffer.peek(1);
    assert.equal(body(next!.payload).dropped, undefined);
  });

  it('survives a restart: the batches and the unreported dropped count are read back', async () => {
    const dir = tempDir();
    try {
      const files = await DirFiles.open(dir);
      const a = await LogBuffer.open(files, { maxBytes: 1 << 20, maxBatches: 2 }, () => undefined);
      for (let i = 0; i < 3; i++) await a.buffer.push([rec(i), rec(100 + i)], i);
      assert.deepEqual(await a.buffer.peek(5), [], 'no topic before enrollment: nothing to send');
      const b = await LogBuffer.open(
        await DirFiles.open(dir),
        { maxBytes: 1 << 20, maxBatches: 2 },
        () => 'dev/logs',
      );
      assert.equal(b.buffer.length, 2);
      assert.equal(b.buffer.pendingDropped, 2);
      const out = await b.buffer.peek(5);
      assert.deepEqual(
        out.map((e) => body(e.payload).records.map((r) => r.message)),
        [
          ['line 1', 'line 101'],
          ['line 2', 'line 102'],
        ],
      );
      assert.equal(body(out[0]!.payload).dropped, 2);
      assert.equal(out[0]!.topic, 'dev/logs');
    } finally {
      cleanup(dir);
    }
  });
});

describe('file tail', () => {
  it('reads appended lines, follows rotation (rest of the old file first) and truncation', async () => {
    const dir = tempDir();
    try {
      const path = join(dir, 'app.log');
      writeFileSync(path, 'old history\n');
      const got: string[] = [];
      const tail = new FileTail(path, (l) => got.push(l));
      await tail.poll();
      assert.deepEqual(got, [], 'a file seen for the first time is read from its end');
      appendFileSync(path, 'one\ntwo\r\nthr');
      await tail.poll();
      assert.deepEqual(got, ['one', 'two'], 'a line without its newline waits');
      appendFileSync(path, 'ee\n');
      await tail.poll();
      assert.deepEqual(got.splice(0), ['one', 'two', 'three']);
      // logrotate (create): written to the old file after our last poll, then moved away.
      appendFileSync(path, 'last of old\n');
      renameSync(path, `${path}.1`);
      await tail.poll(); // gone for a moment: the old file is finished
      writeFileSync(path, 'first of new\n');
      await tail.poll();
      assert.deepEqual(got.splice(0), ['last of old', 'first of new']);
      appendFileSync(`${path}.1`, 'late write to the rotated file\n');
      renameSync(path, `${path}.2`);
      writeFileSync(path, 'fresh\n');
      await tail.poll();
      assert.deepEqual(got.splice(0), ['fresh'], 'a rotation seen at once (new inode)');
      // copytruncate: the file shrinks under us.
      truncateSync(path, 0);
      appendFileSync(path, 'after truncate\n');
      await tail.poll();
      assert.deepEqual(got.splice(0), ['after truncate']);
      const pos = tail.position()!;
      assert.equal(pos.offset, 'after truncate\n'.length);
      await tail.close();
      // A restart at the saved position goes on without losing or repeating a line.
      appendFileSync(path, 'while stopped\n');
      const again: string[] = [];
      const t2 = new FileTail(path, (l) => again.push(l), { start: pos });
      await t2.poll();
      assert.deepEqual(again, ['while stopped']);
      await t2.close();
      // fromStart reads a new file whole.
      const whole: string[] = [];
      const t3 = new FileTail(path, (l) => whole.push(l), { fromStart: true });
      await t3.poll();
      assert.deepEqual(whole, ['after truncate', 'while stopped']);
      await t3.close();
    } finally {
      cleanup(dir);
    }
  });
});

describe('journal (journalctl -o json)', () => {
  const lines = readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter((l) => l !== '');

  it('parses recorded entries: MESSAGE (text or bytes), PRIORITY, unit or identifier, realtime, cursor', () => {
    const parsed = lines.map(parseJournalLine);
    assert.deepEqual(parsed[0], {
      record: {
        ts: '2024-12-06T15:46:40.123Z',
        level: 'info',
        source: 'journal:ssh.service',
        message: 'Accepted publickey for root from 192.0.2.7 port 52144 ssh2',
        fields: { unit: 'ssh.service', identifier: 'sshd', pid: 1234 },
      },
      cursor: 's=6a1b;i=1a2;b=9f;m=11aa;t=5f1;x=aa',
    });
    assert.equal(parsed[1]!.record.level, 'error');
    assert.equal(parsed[1]!.record.source, 'journal:app', 'SYSLOG_IDENTIFIER without a unit');
    assert.equal(parsed[2]!.record.message, 'bad bytes: \ufffd\n', 'a byte-array MESSAGE');
    assert.equal(parsed[2]!.record.level, 'warning');
    assert.equal(parsed[3]!.record.level, 'info', 'no PRIORITY: info');
    assert.equal(parsed[3]!.record.source, 'journal:cron', '_COMM as the last resort');
    assert.equal(parsed[4], undefined, 'no message: skipped');
    assert.equal(parsed[5], undefined, 'not JSON: skipped');
  });

  it('arguments: from now without a cursor, after the cursor with one, per unit', () => {
    assert.deepEqual(journalArgs(undefined, []), ['-o', 'json', '-f', '--no-pager', '-n', '0']);
    assert.deepEqual(journalArgs('s=1', ['a.service']), [
      '-o',
      'json',
      '-f',
      '--no-pager',
      '--after-cursor=s=1',
      '-u',
      'a.service',
    ]);
  });

  it('runs journalctl as a child, reads its lines, and starts it again when it exits', async () => {
    const dir = tempDir();
    try {
      // A stand-in journalctl that prints the recorded lines and its arguments, then exits.
      const fake = join(dir, 'journalctl');
      writeFileSync(
        fake,
        `#!/bin/sh\necho "{\\"MESSAGE\\":\\"args: $*\\",\\"__CURSOR\\":\\"c-args\\"}"\ncat '${FIXTURE}'\n`,
      );
      chmodSync(fake, 0o755);
      const got: string[] = [];
      const warnings: string[] = [];
      const j = new JournalSource({
        command: [fake],
        units: ['ssh.service'],
        cursor: undefined,
        onEntry: (e) => got.push(e.record.message),
        log: (_l, m) => warnings.push(m),
        restartMs: 50,
      });
      j.start();
      await waitFor(() => got.length >= 5, 'the first run');
      assert.equal(got[0], 'args: -o json -f --no-pager -n 0 -u ssh.service');
      await waitFor(() => got.length >= 10, 'a second run after it exited');
      assert.match(
        got[5]!,
        /--after-cursor=s=6a1b;i=1a5/,
        'the second run goes on after the cursor',
      );
      assert.ok(warnings.some((w) => /exited/.test(w)));
      j.stop();
      const missing = new JournalSource({
        command: [join(dir, 'no-such-journalctl')],
        units: [],
        cursor: undefined,
        onEntry: () => undefined,
        log: (_l, m) => warnings.push(m),
      });
      missing.start();
      await waitFor(
        () => warnings.some((w) => /not found/.test(w)),
        'the missing program reported',
      );
      missing.stop();
    } finally {
      cleanup(dir);
    }
  });
});
