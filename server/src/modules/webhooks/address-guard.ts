// Where a webhook may be sent: no server-side request forgery. A URL must be https (http only when
// allowed) and its host must be a public address: loopback, private, link-local, multicast,
// unspecified and reserved ranges are refused, including IPv6 forms that embed an IPv4 address
// (mapped, compatible, NAT64, 6to4). Literal hosts are checked when an endpoint is saved; names
// are checked again after DNS resolution at every delivery, and the connection goes to the very
// address that was checked (a custom lookup), so a name cannot resolve to a public address for the
// check and to a private one for the connection. Hosts on the allow list skip the address checks.
import { promises as dns, type LookupAddress } from 'node:dns';
import { BlockList, isIP, isIPv4 } from 'node:net';

export type AddressClass = 'public' | 'unspecified' | 'loopback' | 'private' | 'link-local' | 'multicast' | 'reserved';

function list(ranges: [string, number][], family: 'ipv4' | 'ipv6'): BlockList {
  const b = new BlockList();
  for (const [net, prefix] of ranges) b.addSubnet(net, prefix, family);
  return b;
}

const V4: [Exclude<AddressClass, 'public'>, BlockList][] = [
  ['unspecified', list([['0.0.0.0', 8]], 'ipv4')],
  ['loopback', list([['127.0.0.0', 8]], 'ipv4')],
  [
    'private',
    list(
      [
        ['10.0.0.0', 8],
        ['100.64.0.0', 10], // carrier-grade NAT
        ['172.16.0.0', 12],
        ['192.168.0.0', 16],
      ],
      'ipv4',
    ),
  ],
  ['link-local', list([['169.254.0.0', 16]], 'ipv4')],
  ['multicast', list([['224.0.0.0', 4]], 'ipv4')],
  [
    'reserved',
    list(
      [
        ['192.0.0.0', 24],
        ['192.0.2.0', 24],
        ['192.88.99.0', 24],
        ['198.18.0.0', 15],
        ['198.51.100.0', 24],
        ['203.0.113.0', 24],
        ['240.0.0.0', 4], // includes 255.255.255.255
      ],
      'ipv4',
    ),
  ],
];

const V6: [Exclude<AddressClass, 'public'>, BlockList][] = [
  ['unspecified', list([['::', 128]], 'ipv6')],
  ['loopback', list([['::1', 128]], 'ipv6')],
  [
    'private',
    list(
      [
        ['fc00::', 7], // unique local
        ['fec0::', 10], // site-local (deprecated)
        ['64:ff9b:1::', 48], // local-use NAT64
      ],
      'ipv6',
    ),
  ],
  ['link-local', list([['fe80::', 10]], 'ipv6')],
  ['multicast', list([['ff00::', 8]], 'ipv6')],
  [
    'reserved',
    list(
      [
        ['100::', 64], // discard
        ['2001::', 23], // protocol assignments: Teredo, benchmarking, ORCHID
        ['2001:db8::', 32], // documentation
      ],
      'ipv6',
    ),
  ],
];

/** The 16 bytes of a valid IPv6 address (zone dropped). */
function v6Bytes(address: string): number[] {
  let s = address.split('%')[0] as string;
  let tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    s = `${dotted[1]}0:0`;
    tail = (dotted[2] as string).split('.').map(Number);
  }
  const [head = '', rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  const bytes = groups.flatMap((g) => {
    const v = Number.parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

const zeros = (b: number[], from: number, to: number) => b.slice(from, to).every((x) => x === 0);

/** The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), if any. */
function embeddedV4(b: number[]): string | null {
  const quad = (i: number) => b.slice(i, i + 4).join('.');
  if (zeros(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return quad(12); // ::ffff:a.b.c.d
  if (zeros(b, 0, 12) && !zeros(b, 12, 15)) return quad(12); // ::a.b.c.d (not :: or ::1)
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(b, 4, 12)) return quad(12); // 64:ff9b::/96
  if (b[0] === 0x20 && b[1] === 0x02) return quad(2); // 2002::/16
  return null;
}

/** What kind of address this is; only 'public' ones are reachable by webhooks. Pure: never connects. */
export function classifyAddress(address: string): AddressClass {
  const ip = address.replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(ip)) {
    for (const [cls, b] of V4) if (b.check(ip, 'ipv4')) return cls;
    return 'public';
  }
  if (isIP(ip.split('%')[0] as string) !== 6) return 'reserved';
  const bytes = v6Bytes(ip);
  const v4 = embeddedV4(bytes);
  if (v4) return classifyAddress(v4);
  const plain = ip.split('%')[0] as string;
  for (const [cls, b] of V6) if (b.check(plain, 'ipv6')) return cls;
  // global unicast is 2000::/3; everything else is unassigned
  return (bytes[0] as number) >> 5 === 1 ? 'public' : 'reserved';
}

export interface UrlPolicy {
  allowHttp: boolean;
  allowHosts: ReadonlySet<string>;
}

/** The host part of a URL as it is compared: lower-case, IPv6 without brackets. */
export const hostOf = (u: URL) => u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');

/** The allow list in the form hostOf gives (IPv6 entries normalized by the URL parser). */
export function allowedHosts(hosts: readonly string[]): ReadonlySet<string> {
  return new Set(hosts.map((h) => (isIP(h) === 6 ? hostOf(new URL(`http://[${h}]/`)) : h)));
}

export class AddressRefused extends Error {
  override name = 'AddressRefused';
}

/**
 * Why a URL may not receive webhooks (null: it may). Checks what can be known without DNS: the
 * scheme, credentials, and a literal or obviously local host.
 */
export function urlProblem(raw: string, policy: UrlPolicy): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'url is not a valid absolute URL';
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && policy.allowHttp)) {
    return policy.allowHttp ? 'url must use https or http' : 'url must use https';
  }
  if (u.username || u.password) return 'url must not contain a user name or password';
  if (u.hash) return 'url must not contain a fragment (#…)';
  const host = hostOf(u);
  if (!host) return 'url has no host';
  if (policy.allowHosts.has(host)) return null;
  if (isIP(host)) {
    const cls = classifyAddress(host);
    return cls === 'public' ? null : `url points to a ${cls} address; webhooks go to public addresses only`;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return 'url points to a loopback address; webhooks go to public addresses only';
  }
  return null;
}

export type Resolve = (host: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (host) => dns.lookup(host, { all: true, verbatim: true });

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:http(s) that resolves the name, refuses it when any of its addresses is not
 * public, and hands the checked addresses to the connection.
 */
export function guardedLookup(resolve: Resolve) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) => {
    resolve(hostname).then(
      (found) => {
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 ? 6 : 0;
        const addrs = found.filter((a) => !family || a.family === family);
        for (const a of found) {
          const cls = classifyAddress(a.address);
          if (cls !== 'public') {
            callback(new AddressRefused(`${hostname} resolves to ${a.address}, a ${cls} address`), '', 4);
            return;
          }
        }
        const first = addrs[0];
        if (!first) callback(new AddressRefused(`${hostname} has no address`), '', 4);
        else if (options.all) callback(null, addrs);
        else callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, '', 4),
    );
  };
}
