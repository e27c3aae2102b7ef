/**
 * A child process for the discovery tests, run inside a network namespace (`ip netns exec NS node
 * discovery-child.js MODE …`). Modes:
 *   announce JSON   start an MdnsAnnouncer with these options, print `ready`, stop on stdin end
 *   discover ARGS…  run `bulwark discover ARGS…`
 *   listen IFACE MS print every mDNS response heard as JSON lines (records only) until a goodbye
 *                   for _bulwark._tcp.local is heard or MS ms have passed
 *   legacy          send one legacy unicast query and print the unicast reply as JSON
 */
import makeMdns from 'multicast-dns';
import { MdnsAnnouncer, type MdnsAnnouncerOptions } from '../src/discovery/announcer.js';
import { discoverCommand } from '../src/commands/discover.js';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'announce') {
  const a = new MdnsAnnouncer(JSON.parse(args[0] ?? '{}') as MdnsAnnouncerOptions);
  await a.start();
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.once('end', () => {
    a.stop().then(
      () => {
        process.stdout.write('stopped\n');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`${String(err)}\n`);
        process.exit(1);
      },
    );
  });
} else if (mode === 'discover') {
  process.exitCode = await discoverCommand(args);
} else if (mode === 'listen') {
  const m = makeMdns({ interface: args[0] ?? '', bind: '0.0.0.0' });
  m.on('response', (res) => {
    const records = [...res.answers, ...res.additionals].map((r) => ({
      name: r.name,
      type: r.type,
      ttl: 'ttl' in r ? r.ttl : undefined,
    }));
    process.stdout.write(`${JSON.stringify(records)}\n`);
    if (records.some((r) => r.type === 'PTR' && r.name === '_bulwark._tcp.local' && r.ttl === 0)) {
      clearTimeout(timer);
      m.destroy();
    }
  });
  m.on('ready', () => process.stdout.write('ready\n'));
  const timer = setTimeout(() => m.destroy(), Number(args[1] ?? 1000));
} else if (mode === 'legacy') {
  // RFC 6762 §6.7: a one-shot query from an ephemeral port (as `dig -p 5353` sends) gets a unicast reply.
  const m = makeMdns({ port: 0, multicast: false });
  const timer = setTimeout(() => {
    process.stderr.write('no unicast reply within 5 s\n');
    process.exitCode = 1;
    m.destroy();
  }, 5000);
  m.on('response', (res, rinfo) => {
    clearTimeout(timer);
    const records = [...res.answers, ...res.additionals].map((r) => ({
      name: r.name,
      type: r.type,
      ttl: 'ttl' in r ? r.ttl : undefined,
    }));
    const out = { id: res.id, from: rinfo.address, questions: res.questions, records };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    m.destroy();
  });
  m.query(
    { id: 4242, questions: [{ name: '_bulwark._tcp.local', type: 'PTR' }] },
    { port: 5353, address: '224.0.0.251' },
  );
} else {
  process.stderr.write(`unknown mode ${String(mode)}\n`);
  process.exitCode = 2;
}
