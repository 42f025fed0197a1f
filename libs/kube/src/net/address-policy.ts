import { BlockList } from 'node:net';
import { networkInterfaces } from 'node:os';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { loadConfig, memberAddressConfigShape, memberAddressWarnings, type MemberAddressConfig } from '@flotilla/config';
import { canonicalIp, embeddedIpv4, formatIp, parseIp, type IpAddress } from './ip-address';
import { redactUrl } from './member-text';

/** Why an address is refused, from the most to the least dangerous. */
export type AddressCategory = 'metadata' | 'link-local' | 'unspecified' | 'multicast' | 'reserved' | 'loopback' | 'own';

export interface AddressRefusal {
  /** The address as resolved or written (canonical). */
  address: string;
  category: AddressCategory;
  /** "a cloud metadata address (169.254.169.254, ...)": reads after "is". */
  description: string;
  /** What an operator can do about it. */
  fix: string;
}

/** Resolves a host name to every address a connection could use (getaddrinfo by default). */
export type MemberResolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface MemberAddressPolicyOptions {
  /** Accept loopback addresses and this host's own addresses (development, tests). Default false. */
  allowLoopback?: boolean;
  /** Accept http:// servers (credentials travel in clear text). Default false. */
  allowPlainHttp?: boolean;
  /** Hosts or addresses exempt from every address refusal (FLOTILLA_SERVER_ALLOW_LIST). */
  allowList?: readonly string[];
  /** Name resolution, injectable so tests can prove DNS rebinding is refused. */
  resolve?: MemberResolver;
  /** This host's own addresses; defaults to every interface address. */
  ownAddresses?: readonly string[];
}

type Rule = [address: string, prefix: number];

/**
 * Always refused (unless allow-listed): cloud metadata and platform endpoints first, so the
 * error names the most specific reason.
 */
const ALWAYS: [AddressCategory, string, Rule[]][] = [
  [
    'metadata',
    'a link-local or cloud metadata address (the instance metadata service of AWS, GCP, Azure, Alibaba Cloud, Oracle Cloud or another cloud)',
    [
      ['169.254.169.254', 32], // AWS, GCP, Azure, Oracle, OpenStack, DigitalOcean, ...
      ['169.254.170.2', 32], // AWS ECS task metadata
      ['169.254.169.123', 32], // AWS time sync
      ['169.254.0.23', 32], // Tencent Cloud
      ['100.100.100.200', 32], // Alibaba Cloud (ACK)
      ['168.63.129.16', 32], // Azure WireServer
      ['192.0.0.192', 32], // Oracle Cloud (legacy)
      ['fd00:ec2::254', 128], // AWS IMDS over IPv6
      ['fd00:ec2::23', 128], // AWS DNS over IPv6
      ['fd20:ce::254', 128], // GCP metadata over IPv6
    ],
  ],
  ['link-local', 'a link-local or cloud metadata address (link-local: 169.254.0.0/16, fe80::/10)', [['169.254.0.0', 16], ['fe80::', 10]]],
  ['unspecified', 'an unspecified address (0.0.0.0/8, ::), which reaches this host', [['0.0.0.0', 8], ['::', 128]]],
  ['multicast', 'a multicast address (224.0.0.0/4, ff00::/8)', [['224.0.0.0', 4], ['ff00::', 8]]],
  ['reserved', 'a reserved or broadcast address (240.0.0.0/4)', [['240.0.0.0', 4]]],
];
const LOOPBACK: Rule[] = [
  ['127.0.0.0', 8],
  ['::1', 128],
];

/** Names that are metadata endpoints whatever they resolve to (where they resolve at all). */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal', 'metadata.tencentyun.com', 'metadata.azure.internal']);

function blockList(rules: Rule[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of rules) list.addSubnet(address, prefix, address.includes(':') ? 'ipv6' : 'ipv4');
  return list;
}

const ALWAYS_LISTS = ALWAYS.map(([category, description, rules]) => ({ category, description, list: blockList(rules) }));
const LOOPBACK_LIST = blockList(LOOPBACK);

/** A host name compared with the allow-list and the metadata names: lower case, no trailing dots. */
const normalName = (host: string) => host.replace(/^\[|\]$/g, '').replace(/\.+$/, '').toLowerCase();

const defaultResolve: MemberResolver = async (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

let interfaceCache: string[] | undefined;

/** This host's interface addresses, read once per process (a pod keeps its addresses). */
function interfaceAddresses(): string[] {
  interfaceCache ??= Object.values(networkInterfaces())
    .flat()
    .map((i) => i?.address)
    .filter((a): a is string => !!a);
  return interfaceCache;
}

/** The code of the socket error a refused address gives at connect time. */
export const REFUSED_ADDRESS_CODE = 'EMEMBERADDRESS';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Addresses whose answer a policy remembers (a fleet's members, each one or a few addresses). */
const MAX_REMEMBERED_ADDRESSES = 20_000;

/**
 * The one address policy for every connection to a member cluster (import, rotation, health
 * probes, and later the proxy, federation and the agent). It compares address bytes, after
 * un-mapping IPv4 addresses carried in IPv6 forms, and refuses cloud metadata, link-local,
 * unspecified, multicast and reserved addresses always, and loopback and this host's own
 * addresses unless allowed. It is checked when a server is accepted (`checkServer`) and again
 * on every connection (`lookup` for names, `refusalForHost` for IP literals, which skip lookup).
 */
export class MemberAddressPolicy {
  readonly allowLoopback: boolean;
  readonly allowPlainHttp: boolean;
  readonly allowList: readonly string[];
  private readonly allowedNames: Set<string>;
  private readonly allowedAddresses: Set<string>;
  private readonly own: BlockList;
  private readonly resolveName: MemberResolver;
  /**
   * Answers already given, by address (the policy never changes once built). Checked on every
   * connection and request, the lists cost a health-probe replica about 4% of its CPU at 10,000
   * members (each BlockList check builds a SocketAddress). Bounded: emptied when full.
   */
  private readonly answered = new Map<string, AddressRefusal | null>();

  constructor(options: MemberAddressPolicyOptions = {}) {
    this.allowLoopback = options.allowLoopback ?? false;
    this.allowPlainHttp = options.allowPlainHttp ?? false;
    this.allowList = [...(options.allowList ?? [])];
    this.allowedAddresses = new Set(this.allowList.map(canonicalIp).filter((a): a is string => !!a));
    this.allowedNames = new Set(this.allowList.filter((h) => !canonicalIp(h)).map(normalName));
    this.resolveName = options.resolve ?? defaultResolve;
    this.own = new BlockList();
    for (const a of options.ownAddresses ?? interfaceAddresses()) {
      const ip = parseIp(a);
      if (ip) this.own.addAddress(formatIp(ip), ip.family);
    }
  }

  /** True when the host (a name or literal) is on the allow-list: no address check applies. */
  allowListed(host: string): boolean {
    const ip = parseIp(host);
    return ip ? this.addressAllowed(ip) : this.allowedNames.has(normalName(host));
  }

  /** An allow-listed address, in any spelling that reaches it (::ffff:a.b.c.d reaches a.b.c.d). */
  private addressAllowed(ip: IpAddress): boolean {
    return [ip, ...embeddedIpv4(ip)].some((form) => this.allowedAddresses.has(formatIp(form)));
  }

  /** Why connecting to this address is refused, or undefined when it may be used. */
  refusal(address: string): AddressRefusal | undefined {
    const known = this.answered.get(address);
    if (known !== undefined) return known ?? undefined;
    const answer = this.decide(address);
    if (this.answered.size >= MAX_REMEMBERED_ADDRESSES) this.answered.clear();
    this.answered.set(address, answer ?? null);
    return answer;
  }

  private decide(address: string): AddressRefusal | undefined {
    const ip = parseIp(address);
    if (!ip) return undefined;
    if (this.addressAllowed(ip)) return undefined;
    const canonical = formatIp(ip);
    // The carried IPv4 address first, so the refusal names it (BlockList matches ::ffff:a.b.c.d itself too).
    const forms: IpAddress[] = [...embeddedIpv4(ip), ip];
    const shown = ip.family === 'ipv6' ? address.replace(/^\[|\]$/g, '') : canonical;
    const via = (form: IpAddress) => (form === ip ? '' : ` (it carries the IPv4 address ${formatIp(form)})`);
    for (const { category, description, list } of ALWAYS_LISTS) {
      const form = forms.find((f) => list.check(formatIp(f), f.family));
      if (form) {
        return { address: shown, category, description: `${description}${via(form)}`, fix: 'if this is intended, an operator can add it to FLOTILLA_SERVER_ALLOW_LIST' };
      }
    }
    if (this.allowLoopback) return undefined;
    const fix = 'members on this host are for development only: an operator can set FLOTILLA_ALLOW_LOOPBACK_MEMBERS=true, or add the address to FLOTILLA_SERVER_ALLOW_LIST';
    const loop = forms.find((f) => LOOPBACK_LIST.check(formatIp(f), f.family));
    if (loop) return { address: shown, category: 'loopback', description: `a loopback address (127.0.0.0/8, ::1)${via(loop)}`, fix };
    const own = forms.find((f) => this.own.check(formatIp(f), f.family));
    if (own) return { address: shown, category: 'own', description: `an address of this Flotilla host, where its own services listen${via(own)}`, fix };
    return undefined;
  }

  /**
   * Why a host is refused before any resolution: an IP literal (which no lookup sees) that is
   * refused, or a well-known metadata name. Undefined for other names and for allowed hosts.
   */
  refusalForHost(host: string): AddressRefusal | undefined {
    if (this.allowListed(host)) return undefined;
    const bare = host.replace(/^\[|\]$/g, '');
    if (METADATA_NAMES.has(normalName(bare))) {
      return { address: bare, category: 'metadata', description: 'a cloud metadata host name', fix: 'if this is intended, an operator can add it to FLOTILLA_SERVER_ALLOW_LIST' };
    }
    return this.refusal(bare);
  }

  /** Every address a host resolves to (a literal is its own address); [] when it does not resolve. */
  async resolve(host: string): Promise<string[]> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (parseIp(bare)) return [bare];
    try {
      return (await this.resolveName(bare)).map((a) => a.address);
    } catch {
      return [];
    }
  }

  /**
   * Checks a member server URL when it is accepted (kubeconfig server, proxy-url,
   * kubernetesAPIEndpoint): scheme, literal addresses and names, and every address the name
   * resolves to now. Throws an Invalid FlotillaError naming `field` and the fix. A name that does
   * not resolve passes here; connecting then fails with a clear "cannot connect".
   */
  async checkServer(server: string, field: string, what = 'server', schemes: readonly string[] = ['https:', 'http:']): Promise<string[]> {
    const url = this.checkServerForm(server, field, what, schemes);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = await this.resolve(host);
    if (this.allowListed(host)) return addresses;
    for (const address of addresses) {
      const refused = this.refusal(address);
      if (refused) throw addressError(field, refusalSentence(`${what} ${url.host}`, refused));
    }
    return addresses;
  }

  /**
   * The checks that need no resolution: a URL, https (or http when allowed), and a literal or
   * well-known name that is not refused. Returns the URL without userinfo.
   */
  checkServerForm(server: string, field: string, what = 'server', schemes: readonly string[] = ['https:', 'http:']): URL {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw addressError(field, `${what} "${redactUrl(server).slice(0, 200)}" is not a URL: use https://host:port`);
    }
    url.username = '';
    url.password = '';
    if (!schemes.includes(url.protocol)) throw addressError(field, `${what} must be an ${schemes.map((s) => `${s}//`).join(' or ')} URL, not ${url.protocol}//`);
    if (url.protocol === 'http:' && schemes.includes('https:') && !this.allowPlainHttp) {
      throw addressError(
        field,
        `${what} ${url.host} is plain http://, which would send the credentials in clear text: use https://, or an operator can set FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS=true`,
      );
    }
    const refused = this.refusalForHost(url.hostname);
    if (refused) throw addressError(field, refusalSentence(`${what} ${url.host}`, refused));
    return url;
  }

  /**
   * A `lookup` for sockets (net, tls, http, https): resolves through this policy's resolver and
   * refuses the connection when any address is refused, so a name that passed `checkServer`
   * cannot be re-pointed at a refused address afterwards (DNS rebinding).
   */
  readonly lookup = (hostname: string, options: unknown, callback: LookupCallback): void => {
    const opts = (typeof options === 'object' && options !== null ? options : { family: options }) as { family?: number | string; all?: boolean };
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : Number(opts.family ?? 0);
    this.resolveName(hostname).then(
      (found) => {
        const list = found.filter((a) => !family || a.family === family).map((a) => ({ address: a.address, family: a.family }));
        if (list.length === 0) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }), '', 0);
        if (!this.allowListed(hostname)) {
          for (const a of list) {
            const refused = this.refusal(a.address);
            if (refused) {
              const error = new Error(refusalSentence(hostname, refused));
              return callback(Object.assign(error, { code: REFUSED_ADDRESS_CODE }), '', 0);
            }
          }
        }
        if (opts.all) return callback(null, list);
        callback(null, list[0]!.address, list[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };

  /** What this policy relaxes, one sentence each, for the service's log at start. */
  warnings(): string[] {
    return memberAddressWarnings({ FLOTILLA_ALLOW_LOOPBACK_MEMBERS: this.allowLoopback, FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: this.allowPlainHttp, FLOTILLA_SERVER_ALLOW_LIST: this.allowList });
  }
}

/** "server h:443 resolves to 169.254.169.254, a link-local or cloud metadata address ..., which is refused; <fix>". */
export function refusalSentence(subject: string, refused: AddressRefusal): string {
  const what = parseIp(refused.address) ? `resolves to ${refused.address}, ${refused.description}` : `is ${refused.description}`;
  return `${subject} ${what}, which is refused; ${refused.fix}`;
}

function addressError(field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorReason.Invalid, `${field}: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field, message }] });
}

/** The policy a process's configuration gives (the variables of memberAddressConfigShape). */
export function memberPolicyFromConfig(config: Readonly<MemberAddressConfig> | { readonly FLOTILLA_SERVER_ALLOW_LIST: readonly string[]; readonly FLOTILLA_ALLOW_LOOPBACK_MEMBERS: boolean; readonly FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: boolean }, options: Pick<MemberAddressPolicyOptions, 'resolve' | 'ownAddresses'> = {}): MemberAddressPolicy {
  return new MemberAddressPolicy({
    allowLoopback: config.FLOTILLA_ALLOW_LOOPBACK_MEMBERS,
    allowPlainHttp: config.FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS,
    allowList: config.FLOTILLA_SERVER_ALLOW_LIST,
    ...options,
  });
}

let fromEnvironment: MemberAddressPolicy | undefined;

/**
 * The policy of this process's environment (the same variables, read once), for callers that do
 * not pass one: strict unless the operator relaxed it. `extraAllowList` is added to the
 * environment's allow-list (callers that still pass a bare allow-list).
 */
export function defaultMemberPolicy(extraAllowList: readonly string[] = []): MemberAddressPolicy {
  fromEnvironment ??= memberPolicyFromConfig(loadConfig('member address policy', memberAddressConfigShape));
  const base = fromEnvironment;
  if (extraAllowList.every((h) => base.allowList.includes(h))) return base;
  return new MemberAddressPolicy({ allowLoopback: base.allowLoopback, allowPlainHttp: base.allowPlainHttp, allowList: [...base.allowList, ...extraAllowList] });
}
