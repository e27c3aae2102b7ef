/** DNS-SD records of the agent and answers to mDNS questions (RFC 6762, RFC 6763), without sockets. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MdnsAnnouncer } from '../src/discovery/announcer.js';
import {
  announcement,
  answerQuestions,
  type MdnsQuestion,
  type ServiceInfo,
} from '../src/discovery/records.js';
import { formatDevices } from '../src/commands/discover.js';

const INFO: ServiceInfo = {
  deviceId: 'dev-1',
  deviceType: 'sensor',
  firmwareVersion: '1.2.3',
  port: 8443,
  hostname: 'bulwark-dev-1.local',
  addresses: ['10.0.0.5', '2001:db8::5'],
};
const q = (name: string, type: string): MdnsQuestion => ({ name, type }) as MdnsQuestion;
const names = (rs: { name: string; type: string }[]) => rs.map((r) => `${r.type} ${r.name}`);

describe('DNS-SD records', () => {
  it('announce PTR, SRV, TXT (non-secret fields only), A/AAAA and the service-type PTR', () => {
    const rs = announcement(INFO);
    assert.deepEqual(names(rs), [
      'PTR _bulwark._tcp.local',
      'SRV dev-1._bulwark._tcp.local',
      'TXT dev-1._bulwark._tcp.local',
      'A bulwark-dev-1.local',
      'AAAA bulwark-dev-1.local',
      'PTR _services._dns-sd._udp.local',
    ]);
    const txt = rs.find((r) => r.type === 'TXT');
    assert.deepEqual(txt?.data, ['v=1', 'id=dev-1', 'type=sensor', 'fw=1.2.3', 'port=8443']);
    const srv = rs.find((r) => r.type === 'SRV');
    assert.deepEqual(srv?.data, {
      port: 8443,
      target: 'bulwark-dev-1.local',
      priority: 0,
      weight: 0,
    });
    // Cache-flush only on unique records, never on the shared PTRs (RFC 6762 §10.2).
    assert.deepEqual(
      rs.map((r) => ('flush' in r ? r.flush === true : false)),
      [false, true, true, true, true, false],
    );
    assert.ok(rs.every((r) => 'ttl' in r && (r.ttl ?? 0) > 0));
  });

  it('the goodbye has the same records with TTL 0', () => {
    const bye = announcement(INFO, true);
    assert.deepEqual(names(bye), names(announcement(INFO)));
    assert.ok(bye.every((r) => 'ttl' in r && r.ttl === 0));
  });

  it('answers a PTR browse with the PTR, and SRV, TXT and addresses as additionals', () => {
    const { answers, additionals } = answerQuestions(INFO, [q('_bulwark._tcp.local', 'PTR')]);
    assert.deepEqual(names(answers), ['PTR _bulwark._tcp.local']);
    assert.deepEqual(names(additionals), [
      'SRV dev-1._bulwark._tcp.local',
      'TXT dev-1._bulwark._tcp.local',
      'A bulwark-dev-1.local',
      'AAAA bulwark-dev-1.local',
    ]);
  });

  it('answers SRV/TXT/ANY for the instance, A/AAAA for the host, the meta-query, case-insensitively', () => {
    assert.deepEqual(
      names(answerQuestions(INFO, [q('DEV-1._bulwark._tcp.local', 'SRV')]).answers),
      ['SRV dev-1._bulwark._tcp.local'],
    );
    assert.deepEqual(
      names(answerQuestions(INFO, [q('dev-1._bulwark._tcp.local', 'ANY')]).answers),
      ['SRV dev-1._bulwark._tcp.local', 'TXT dev-1._bulwark._tcp.local'],
    );
    assert.deepEqual(names(answerQuestions(INFO, [q('bulwark-dev-1.local', 'AAAA')]).answers), [
      'AAAA bulwark-dev-1.local',
    ]);
    assert.deepEqual(
      names(answerQuestions(INFO, [q('_services._dns-sd._udp.local', 'PTR')]).answers),
      ['PTR _services._dns-sd._udp.local'],
    );
  });

  it('stays silent about names that are not its own', () => {
    assert.deepEqual(answerQuestions(INFO, [q('_http._tcp.local', 'PTR'), q('other.local', 'A')]), {
      answers: [],
      additionals: [],
    });
  });
});

describe('MdnsAnnouncer options', () => {
  const base = { deviceId: 'dev-1', deviceType: 'sensor', firmwareVersion: '1.2.3', port: 8443 };
  it('refuses a bad port, a dotted device id, an over-long TXT value and a foreign interface', () => {
    assert.throws(() => new MdnsAnnouncer({ ...base, port: 0 }), /port 0 is not a TCP port/);
    assert.throws(
      () => new MdnsAnnouncer({ ...base, deviceId: 'a.b' }),
      /cannot be a DNS-SD instance name/,
    );
    assert.throws(
      () => new MdnsAnnouncer({ ...base, firmwareVersion: 'x'.repeat(300) }),
      /over 255 bytes/,
    );
    assert.throws(
      () => new MdnsAnnouncer({ ...base, interface: '192.0.2.254' }),
      /no local interface has the address/,
    );
    assert.throws(
      () => new MdnsAnnouncer({ ...base, interface: 'eth0' }),
      /must be the IPv4 address/,
    );
  });

  it('derives a host name and this machine’s addresses', () => {
    const a = new MdnsAnnouncer({ ...base, deviceId: 'Dev_1', interface: '127.0.0.1' });
    assert.equal(a.info.hostname, 'bulwark-dev-1.local');
    assert.ok(a.info.addresses.includes('127.0.0.1'));
  });
});

describe('bulwark discover output', () => {
  it('prints an aligned table', () => {
    const out = formatDevices([
      {
        instance: 'dev-1._bulwark._tcp.local',
        id: 'dev-1',
        type: 'sensor',
        fw: '1.2.3',
        version: '1',
        port: 8443,
        host: 'bulwark-dev-1.local',
        addresses: ['10.0.0.5'],
      },
      {
        instance: 'x._bulwark._tcp.local',
        id: '',
        type: '',
        fw: '',
        version: '',
        port: 0,
        host: '',
        addresses: [],
      },
    ]);
    assert.equal(
      out,
      'ID     TYPE    FW     ADDRESS   PORT\n' +
        'dev-1  sensor  1.2.3  10.0.0.5  8443\n' +
        '-      -       -      -         0\n',
    );
  });
});
