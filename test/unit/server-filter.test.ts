import { describe, expect, it } from 'vitest';
import { parseConnectionFilter } from '../../parser/report/failure-export.js';
import type { ConnectionRecord } from '../../parser/report/types.js';

// --pcapng-filter server=: any text form of an address matches the records' (RFC 5952 compressed
// IPv6, dotted IPv4); what is no address is refused. Compared as typed, ::ffff:10.0.0.1,
// 0:0:0:0:0:0:0:1 or db:443 were accepted and kept nothing, silently.
const at = (ip: string, port: number) => ({ server: { ip, port } }) as unknown as ConnectionRecord;

describe('server= in --pcapng-filter', () => {
  it('matches any text form of the address the records write', () => {
    for (const [filter, record] of [
      ['server=::ffff:10.0.0.1', at('::ffff:a00:1', 443)],
      ['server=0:0:0:0:0:0:0:1', at('::1', 44308)],
      ['server=::0001', at('::1', 44308)],
      ['server=[::1]:44308', at('::1', 44308)],
      ['server=2001:DB8::A', at('2001:db8::a', 443)],
      ['server=10.0.0.5:443', at('10.0.0.5', 443)],
      ['server=10.0.0.5', at('10.0.0.5', 8443)],
    ] as const) {
      expect(parseConnectionFilter(filter)(record), filter).toBe(true);
    }
    expect(parseConnectionFilter('server=[::1]:443')(at('::1', 44308))).toBe(false);
    expect(parseConnectionFilter('server=10.0.0.5:443')(at('10.0.0.50', 443))).toBe(false);
  });

  it('refuses what is no address, saying why', () => {
    for (const [filter, why] of [
      ['server=db:443', '"db" is not an IPv4 or IPv6 address'],
      ['server=:', 'is not an IPv4 or IPv6 address'],
      ['server=www.example.com', 'server= takes an IP address, not a name'],
      ['server=10.0.0.300', '"10.0.0.300" is not an IPv4'],
      ['server=1:2:3:4:5:6:7:8:9', 'is not an IPv4 or IPv6 address'],
      ['server=fe80::1%eth0', 'a zone ID (%eth0) is not part of the addresses a capture holds'],
      ['server=[::1]:70000', 'port 70000 is not a TCP port'],
      ['server=', 'server= needs an address'],
    ] as const) {
      expect(() => parseConnectionFilter(filter), filter).toThrow(why);
    }
  });
});
