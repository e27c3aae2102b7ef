/**
 * Issue 13 item 5: the Prometheus alert rules and the Grafana dashboard shipped in deploy/ are
 * valid (Debian's `promtool check rules` and the rules' own unit tests, `promtool test rules`) and
 * name only metrics a live hub exports — a renamed metric would otherwise silence an alert.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setupOwner, startTestHub, type TestHub } from './helpers.js';

const DEPLOY = new URL('../../../../deploy/', import.meta.url).pathname;
const RULES = `${DEPLOY}prometheus/bulwark-alerts.yml`;
const DASHBOARD = `${DEPLOY}grafana/bulwark-dashboard.json`;

/** Whether promtool is installed; under CI its absence fails the test (.ci/run installs it). */
function promtool(): string | false {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    if (process.env['CI'] === 'true') throw new Error('promtool is missing (Debian: prometheus)');
    return false;
  }
}

/** Metric families named in PromQL text, without the _bucket/_sum/_count series suffixes. */
function metricNames(promql: string): Set<string> {
  const out = new Set<string>();
  for (const m of promql.matchAll(/\bbulwark_[a-z0-9_]+/g))
    out.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  return out;
}

interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
}

describe('monitoring rules and dashboard (deploy/)', () => {
  const tool = promtool();
  let t: TestHub;
  let exported: Set<string>;

  before(async () => {
    // CoAP on, so its gauge is exported too.
    t = await startTestHub(['--coap-port', '0']);
    const s = await setupOwner(t);
    const { key } = await s.owner.apiKeys.create({ name: 'scrape', permissions: ['metrics:read'] });
    const text = await (
      await t.fetchWith()(`${t.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })
    ).text();
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    assert.ok(exported.size > 10, text.slice(0, 500));
  });
  after(async () => {
    await t?.close();
  });

  it('promtool accepts the rules and their unit tests pass', { skip: tool === false }, () => {
    const check = execFileSync('promtool', ['check', 'rules', RULES]).toString();
    assert.match(check, /SUCCESS: \d+ rules found/);
    const test = execFileSync('promtool', ['test', 'rules', 'bulwark-alerts.test.yml'], {
      cwd: `${DEPLOY}prometheus`,
    }).toString();
    assert.match(test, /SUCCESS/);
  });

  it('every metric the rules name is exported by a live hub', () => {
    const missing = [...metricNames(readFileSync(RULES, 'utf8'))].filter((n) => !exported.has(n));
    assert.deepEqual(missing, []);
  });

  it('the dashboard is valid JSON whose every panel queries metrics the hub exports', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };
    assert.equal(dash.uid, 'bulwark-hub');
    assert.ok(dash.panels.length >= 10);
    for (const p of dash.panels) {
      assert.ok(p.targets.length > 0, `panel ${p.title} has no query`);
      for (const { expr } of p.targets) {
        const names = [...metricNames(expr)];
        assert.ok(names.length > 0, `panel ${p.title}: ${expr}`);
        const missing = names.filter((n) => !exported.has(n));
        assert.deepEqual(missing, [], `panel ${p.title}`);
      }
    }
  });
});
