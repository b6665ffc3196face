import ipaddr from 'ipaddr.js';
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { WebhookConfigurationError } from '../errors/webhooks.errors.js';

export interface NetworkPolicyOptions {
  /** Send to any address, including loopback and private networks (development, tests, trusted setups). */
  allowPrivateNetworks?: boolean;
  /**
   * Exceptions to the public-addresses-only rule: CIDRs (`10.20.0.0/16`, `fd12::/64`), single addresses, host
   * names (`hooks.internal`), host-name suffixes (`*.svc.cluster.local`), or one port of one address
   * (`127.0.0.1:3000`, `[::1]:3000`: only URLs that name that address and port; a host name could resolve anywhere,
   * so this form takes addresses only).
   */
  allowedNetworks?: readonly string[];
  /** How host names are resolved (tests inject a stub; default `dns.lookup` with every address). */
  resolver?: Resolver;
}

/** Why a connection was refused; `code` lets the HTTP client tell it from a network error. */
export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  readonly code = 'EWEBHOOKBLOCKED';
}

/** ipaddr.js range names, as a reader would say them. */
const RANGE_LABELS: Record<string, string> = {
  unspecified: 'an unspecified',
  broadcast: 'a broadcast',
  multicast: 'a multicast',
  linkLocal: 'a link-local',
  loopback: 'a loopback',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10)',
  private: 'a private (RFC 1918)',
  reserved: 'a reserved',
  uniqueLocal: 'a unique-local (fc00::/7)',
  ipv4Mapped: 'an IPv4-mapped',
  rfc6145: 'an IPv4-translated',
  rfc6052: 'a NAT64 (64:ff9b::/96)',
  '6to4': 'a 6to4',
  teredo: 'a Teredo',
  deprecatedSiteLocal: 'a site-local',
};

/** Cloud instance metadata services: named in the message, since these are what SSRF is usually after. */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);
const LOCAL_NAMES = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$|\.localhost$/i;

/**
 * Where webhooks may be sent. By default only global unicast addresses: loopback, private, link-local, CGNAT,
 * multicast, reserved, metadata and every other special-purpose range (IPv4, IPv6, and IPv4 inside IPv6) are
 * refused. The check runs in the socket's DNS lookup, so the connection goes to the very address that was checked
 * (no window for DNS rebinding); addresses written in the URL are checked before connecting.
 */
export class NetworkPolicy {
  readonly allowAll: boolean;
  private readonly cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  /** Address-and-port entries, as `address|port` (the address in ipaddr.js's spelling). */
  private readonly targets = new Set<string>();
  private readonly resolver: Resolver;

  constructor(options: NetworkPolicyOptions = {}) {
    this.allowAll = options.allowPrivateNetworks ?? false;
    this.resolver = options.resolver ?? defaultResolver;
    const problems: string[] = [];
    for (const entry of options.allowedNetworks ?? []) {
      const value = typeof entry === 'string' ? entry.trim().toLowerCase().replace(/\.$/, '') : '';
      const target = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value);
      if (!value) problems.push(`${JSON.stringify(entry)} is empty`);
      else if (target) {
        const port = Number(target[2]);
        if (!ipaddr.isValid(target[1]) || port < 1 || port > 65535) problems.push(`${JSON.stringify(entry)} is not an address:port`);
        else this.targets.add(targetKey(target[1], port));
      } else if (value.includes('/')) {
        try {
          this.cidrs.push(ipaddr.parseCIDR(value));
        } catch {
          problems.push(`${JSON.stringify(entry)} is not a CIDR like 10.0.0.0/8 or fd00::/8`);
        }
      } else if (ipaddr.isValid(value)) {
        const address = ipaddr.parse(value);
        this.cidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      } else if (value.startsWith('*.') && isHostName(value.slice(2))) this.suffixes.push(value.slice(1));
      else if (isHostName(value)) this.hosts.add(value);
      else problems.push(`${JSON.stringify(entry)} is not a CIDR, an IP address, an address:port, a host name or *.suffix`);
    }
    if (problems.length) throw new WebhookConfigurationError(`Invalid allowedNetworks: ${problems.join('; ')}.`);
  }

  /** Whether this host name is allowed as such (then every address it resolves to is). */
  hostAllowed(host: string): boolean {
    const name = host.toLowerCase().replace(/\.$/, '');
    return this.allowAll || this.hosts.has(name) || this.suffixes.some((s) => name.endsWith(s));
  }

  /** Why `address` may not be contacted, or null when it may. Pure: no I/O. */
  addressProblem(address: string): string | null {
    const refused = this.refusal(address);
    if (!refused) return null;
    return `${address === refused.address ? address : `${address} (${refused.address})`}, ${refused.kind} address`;
  }

  /**
   * Null when `address` may be contacted; else the address judged (the IPv4 inside an IPv4-mapped one) and its
   * kind ("a private (RFC 1918)", "a loopback", ...).
   */
  private refusal(written: string): { address: string; kind: string } | null {
    if (this.allowAll) return null;
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      parsed = ipaddr.parse(written.replace(/^\[|\]$/g, ''));
    } catch {
      return { address: written, kind: 'an unparsable' };
    }
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      // ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address inside.
      parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    }
    const candidate = parsed;
    if (this.cidrs.some(([range, bits]) => range.kind() === candidate.kind() && candidate.match(range, bits))) return null;
    let range = parsed.range();
    // ::/96 (IPv4-compatible, deprecated) is "unicast" to ipaddr.js but reaches no public host.
    if (range === 'unicast' && parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) {
      range = 'reserved';
    }
    if (range === 'unicast') return null;
    const address = parsed.toString();
    return { address, kind: METADATA.has(address) ? 'a cloud metadata' : (RANGE_LABELS[range] ?? `a non-public (${range})`) };
  }

  /**
   * Why a URL's host may not be contacted, judged without I/O: IP literals in any spelling (the WHATWG URL parser
   * has already turned `2130706433` and `0x7f.1` into `127.0.0.1`) and names that always mean this machine. Other
   * names are checked when they are resolved.
   */
  urlProblem(url: URL): string | null {
    if (this.allowAll) return null;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      if (this.targets.size && this.targets.has(targetKey(host, Number(url.port || (url.protocol === 'https:' ? 443 : 80))))) return null;
      const problem = this.addressProblem(host);
      return problem ? `${problem}${HINT}` : null;
    }
    if (LOCAL_NAMES.test(host.replace(/\.$/, '')) && !this.hostAllowed(host)) {
      return `${host} always means this machine (loopback)${HINT}`;
    }
    return null;
  }

  /**
   * A `dns.lookup`-compatible function for `http.Agent({ lookup })`: resolves, refuses the host when any of its
   * addresses is not allowed, and hands the socket exactly the addresses it checked.
   */
  readonly lookup = (
    hostname: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- dns.lookup's overloaded callback
    options: LookupOptions | number | ((...args: any[]) => void),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- dns.lookup's overloaded callback
    callback?: (...args: any[]) => void,
  ): void => {
    const cb = (typeof options === 'function' ? options : callback)!;
    const opts: LookupOptions = typeof options === 'object' ? options : typeof options === 'number' ? { family: options } : {};
    this.resolve(hostname, opts.family as number | undefined).then(
      (addresses) => {
        if (opts.all) cb(null, addresses);
        else cb(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: Error) => cb(error),
    );
  };

  /** Resolves a host name and checks every address (the resolver is replaceable for tests). */
  async resolve(hostname: string, family?: number, resolver: Resolver = this.resolver): Promise<LookupAddress[]> {
    const addresses = await resolver(hostname, family);
    if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
    if (this.hostAllowed(hostname)) return addresses;
    for (const { address } of addresses) {
      // The message names the kind of address, not the address: the attempt log may be shown to whoever
      // configured the endpoint, and internal addresses are none of their business.
      const refused = this.refusal(address);
      if (refused) throw new BlockedAddressError(`${hostname} resolves to ${refused.kind} address${HINT}`);
    }
    return addresses;
  }
}

export type Resolver = (hostname: string, family?: number) => Promise<LookupAddress[]>;

const defaultResolver: Resolver = (hostname, family) =>
  dns.promises.lookup(hostname, { all: true, family: family ?? 0, order: 'verbatim' });

const HINT = '; webhooks are only sent to public addresses (allow it with allowedNetworks or allowPrivateNetworks)';

function targetKey(address: string, port: number): string {
  return `${ipaddr.parse(address).toString()}|${port}`;
}

function isHostName(value: string): boolean {
  return value.length <= 253 && /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/.test(value);
}
