import { isIP } from 'node:net';

/**
 * IP addresses as bytes, so that the address policy compares what a socket would connect to,
 * not how the text is spelt. Only canonical literals are parsed here (what `new URL` and
 * `getaddrinfo` hand out); the WHATWG URL parser already turns decimal, hex, octal and short
 * IPv4 spellings into dotted quads for http(s) URLs.
 */
export interface IpAddress {
  family: 'ipv4' | 'ipv6';
  bytes: Uint8Array;
}

/** The bytes of an IP literal (brackets and an IPv6 zone id are ignored); undefined for a name. */
export function parseIp(text: string): IpAddress | undefined {
  const t = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(t);
  if (family === 4) return { family: 'ipv4', bytes: Uint8Array.from(t.split('.').map(Number)) };
  if (family !== 6) return undefined;
  let head = t;
  let tail: number[] | undefined;
  if (t.includes('.')) {
    const cut = t.lastIndexOf(':');
    tail = t.slice(cut + 1).split('.').map(Number);
    head = `${t.slice(0, cut + 1)}0:0`;
  }
  const [left, right] = head.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return { family: 'ipv6', bytes };
}

/** Dotted quad, or eight full hexadecimal groups (a form net.BlockList accepts). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 'ipv4') return [...ip.bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i]! << 8) | ip.bytes[i + 1]!).toString(16));
  return groups.join(':');
}

const v4 = (bytes: ArrayLike<number>): IpAddress => ({ family: 'ipv4', bytes: Uint8Array.from(bytes) });
const zero = (b: Uint8Array, from: number, to: number) => b.subarray(from, to).every((x) => x === 0);

/**
 * The IPv4 addresses an IPv6 address carries, which reach that IPv4 host through a translator or
 * tunnel: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible
 * (::a.b.c.d), NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48), 6to4 (2002::/16) and Teredo
 * (2001::/32, both the server and the obfuscated client address).
 */
export function embeddedIpv4(ip: IpAddress): IpAddress[] {
  if (ip.family !== 'ipv6') return [];
  const b = ip.bytes;
  const last = b.subarray(12, 16);
  if (zero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return [v4(last)];
  if (zero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && zero(b, 10, 12)) return [v4(last)];
  // IPv4-compatible, but not :: and ::1, which are IPv6's own unspecified and loopback addresses.
  if (zero(b, 0, 12) && !(zero(b, 12, 15) && b[15]! <= 1)) return [v4(last)];
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(b, 4, 12)) return [v4(last)];
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b[4] === 0x00 && b[5] === 0x01) return [v4(last)];
  if (b[0] === 0x20 && b[1] === 0x02) return [v4(b.subarray(2, 6))];
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return [v4(b.subarray(4, 8)), v4([...last].map((x) => x ^ 0xff))];
  return [];
}

/** Canonical text of an IP literal (for comparing allow-list entries), or undefined for a name. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}
