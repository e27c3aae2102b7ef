// The table bench/ingest.mjs prints (Markdown, so a run can be pasted into docs/benchmarks.md).
// `node bench/ingest-report.mjs FILE` prints it again from a run's OUT file.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

const f = (n, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : '—';
const ratio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—';
const row = (cells) => `| ${cells.join(' | ')} |`;

/** Per-second figures of a cell: offered over the schedule, the rest over the elapsed time. */
function rates(c, durationMs) {
  return {
    offered: c.offered / (durationMs / 1000),
    sent: c.sent / c.elapsed,
    stored: c.stored === null ? NaN : c.stored / c.elapsed,
    delivered: c.delivered / c.elapsed,
  };
}

/**
 * Messages the broker refused visibly: QoS 1 PUBACKs with a failure reason code; QoS 0 the hub
 * counted as refused by its store (`on_publish_refused`, e.g. the writer's queue full). Blank
 * where the broker does not say (Mosquitto at QoS 0, or the hub's counters were not read).
 */
function refusedOf(c) {
  if (c.qos > 0) return c.refused ?? NaN;
  return c.hub ? (c.hub.dropped.on_publish_refused ?? 0) : NaN;
}

export function printReport(out) {
  const { config: cfg } = out;
  const failed = out.cells.filter((c) => c.failed);
  const cells = out.cells
    .filter((c) => !c.failed)
    .map((c) => ({ ...c, r: rates(c, cfg.durationMs) }));
  const lines = [];
  lines.push(
    `## bench:ingest — the real path: device certificates over mutual TLS → persisted channel (SenML JSON, MQTT 5) → subscriber device`,
    '',
    `One run on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), shared with other work: figures are noisy${out.loadAverage ? ` (1-minute load average ${f(out.loadAverage.start, 1)} at the start, ${f(out.loadAverage.end, 1)} at the end)` : ''}. Open loop at ${f(cfg.rate)} msg/s offered in total per cell for ${f(cfg.durationMs / 1000, 1)} s; QoS 1 window ${cfg.window} per device (capped by the server's Receive Maximum); payload ${cfg.payloadBytes ?? '~106'} bytes, ${cfg.records ?? 2} SenML records. Latency is from the time the schedule meant to send a message to its delivery (so it includes any time the broker held the device back); "stored" counts rows in the hub's database after the run (Mosquitto stores nothing: its column is blank). Whole run ${f(out.totalMs / 1000, 0)} s.`,
    '',
    'Durability:',
  );
  for (const [k, v] of Object.entries(out.durability)) lines.push(`- ${k}: ${v}`);
  lines.push(
    '',
    row([
      'broker',
      'store',
      'devices',
      'QoS',
      'offered/s',
      'sent/s',
      'refused',
      'stored/s',
      'delivered/s',
      'p50 ms',
      'p99 ms',
      'acked, not stored',
      'acked, not delivered',
      'sent, not delivered',
    ]),
    row(Array(14).fill('---')),
  );
  for (const c of cells)
    lines.push(
      row([
        c.broker,
        c.store ?? '—',
        f(c.devices),
        c.qos,
        f(c.r.offered),
        f(c.r.sent),
        f(refusedOf(c)),
        f(c.r.stored),
        f(c.r.delivered),
        f(c.p50, 1),
        f(c.p99, 1),
        c.qos > 0 && c.stored !== null ? f(c.ackedNotStored) : '—',
        c.qos > 0 ? f(c.ackedNotDelivered) : '—',
        f(c.sent - c.delivered),
      ]),
    );
  for (const c of failed)
    lines.push(
      row([
        c.broker,
        c.store ?? '—',
        f(c.devices),
        c.qos,
        `failed: ${c.failed.replaceAll('|', '/')}`,
        ...Array(9).fill(''),
      ]),
    );
  const ref = (c) =>
    cells.find((m) => m.broker === 'mosquitto' && m.devices === c.devices && m.qos === c.qos);
  const pairs = cells.filter((c) => c.broker === 'bulwark' && ref(c));
  if (pairs.length > 0) {
    lines.push(
      '',
      'Bulwark / Mosquitto (throughput: higher is better for Bulwark; latency: lower is better):',
      '',
      row([
        'store',
        'devices',
        'QoS',
        'delivered/s',
        'stored/s ÷ Mosquitto delivered/s',
        'p50',
        'p99',
      ]),
      row(Array(7).fill('---')),
    );
    for (const c of pairs) {
      const m = ref(c);
      lines.push(
        row([
          c.store,
          f(c.devices),
          c.qos,
          ratio(c.r.delivered, m.r.delivered),
          ratio(c.r.stored, m.r.delivered),
          ratio(c.p50, m.p50),
          ratio(c.p99, m.p99),
        ]),
      );
    }
  }
  // Issue 12's goals, read off this run (a benchmark, not a test: nothing fails on them).
  const goals = { sqlite: 50_000, postgres: 20_000 };
  const stores = [...new Set(pairs.map((c) => c.store))];
  if (stores.length > 0)
    lines.push('', 'Against the goals of issue 12 (this run; not a test):', '');
  for (const st of stores) {
    const mine = pairs.filter((c) => c.store === st);
    const q = (qos) =>
      mine
        .filter((c) => c.qos === qos)
        .map((c) => `${ratio(c.r.delivered, ref(c).r.delivered)} (${f(c.devices)} devices)`)
        .join(', ');
    const lost = mine.filter((c) => c.qos > 0).reduce((a, c) => a + (c.ackedNotStored ?? 0), 0);
    const best = Math.max(...mine.filter((c) => c.qos > 0).map((c) => c.r.stored));
    lines.push(
      `- ${st}: QoS 1 delivered/s vs Mosquitto ${q(1) || '—'} (goal ≥ 1.0×), ${f(lost)} acknowledged but not stored (goal 0); QoS 0 delivered/s vs Mosquitto ${q(0) || '—'} (goal ≥ 1.0×); at most ${f(best)} QoS 1 messages/s stored = ${f(best * (cfg.records ?? 2))} SenML records/s (${cfg.records ?? 2} per message; goal ≥ ${f(goals[st])})`,
    );
  }
  const b = out.memory.bulwark;
  const m = out.memory.mosquitto;
  if (b || m) {
    lines.push(
      '',
      `Memory per idle mTLS connection (each device its own certificate; RSS after − before ${f(b?.count ?? m?.count)} connections, ÷ connections; the hub's after a full GC): Bulwark ${b ? f(b.perConn / 1024, 1) + ' KB' : '—'}, Mosquitto ${m ? f(m.perConn / 1024, 1) + ' KB' : '—'}, ratio ${ratio(b?.perConn, m?.perConn)}.`,
    );
  }
  const notes = [];
  for (const c of cells) {
    const tag = `${c.broker}${c.store ? '/' + c.store : ''} ${c.devices} devices QoS ${c.qos}`;
    if (c.refused > 0) notes.push(`${tag}: ${f(c.refused)} PUBACKs refused`);
    if (c.unanswered > 0) notes.push(`${tag}: ${f(c.unanswered)} QoS 1 never answered within 5 s`);
    if (c.closedEarly > 0)
      notes.push(`${tag}: ${c.closedEarly} device connections closed by the broker`);
    if (c.duplicates > 0) notes.push(`${tag}: ${f(c.duplicates)} duplicate deliveries`);
    if (c.storedLate > 0)
      notes.push(
        `${tag}: ${f(c.storedLate)} more stored after the cell's window (the hub's backlog)`,
      );
    if (c.writerDrainMs > 1000)
      notes.push(
        `${tag}: counted after ${f(c.writerDrainMs / 1000, 1)} s waiting for the hub's writer queue to empty`,
      );
    if (c.quietMs > 1000)
      notes.push(
        `${tag}: started after ${f(c.quietMs / 1000, 1)} s waiting for the hub to finish the previous cell's backlog`,
      );
    if (Number.isFinite(c.subscriberClosedAt))
      notes.push(
        `${tag}: the broker closed the subscriber's connection ${f(c.subscriberClosedAt, 1)} s into the cell`,
      );
    if (Number.isFinite(c.cpuUsPerMessage))
      notes.push(`${tag}: the broker's CPU per message sent ${f(c.cpuUsPerMessage, 1)} µs`);
    if (c.countersMissing)
      notes.push(
        `${tag}: the hub's /metrics did not answer (30 s, twice): its counters are missing`,
      );
    if (c.hub) {
      const d = Object.entries(c.hub.dropped).map(([k, v]) => `${f(v)} ${k}`);
      notes.push(
        `${tag}: the hub read ${f(c.hub.messagesIn)} of ${f(c.sent)} PUBLISH packets sent${d.length ? `; dropped ${d.join(', ')}` : ''}`,
      );
    }
  }
  if (notes.length > 0) lines.push('', 'Notes:', ...notes.map((n) => `- ${n}`));
  lines.push(
    '',
    'Per cell: latency from the write instead of the schedule (p50 / p99 ms), the rate offered per device, the QoS 1 window used, and the time to connect the devices:',
    '',
  );
  for (const c of cells)
    lines.push(
      `- ${c.broker}${c.store ? '/' + c.store : ''} ${c.devices} devices QoS ${c.qos}: ${f(c.p50w, 1)} / ${f(c.p99w, 1)} ms; ${f(cfg.rate / c.devices)} msg/s offered per device; window ${c.window}; ${f(c.openMs / 1000, 1)} s to connect`,
    );
  console.log(lines.join('\n'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  printReport(JSON.parse(readFileSync(process.argv[2], 'utf8')));
