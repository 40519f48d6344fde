/**
 * The operator's policy of where the controller may connect for a tenant's DataPlane. A DataPlane's
 * server URL is tenant input: without a policy a tenant could point it at the cloud metadata
 * service, at the controller's own loopback, or at any address the controller's network reaches,
 * and read the answers back from its Release's status. The policy is checked twice: on the URL
 * when the connection is built (a refusal is `DataPlaneInvalid` naming the rule), and on every
 * address a hostname resolves to when a socket connects, so a DNS answer that changes later (DNS
 * rebinding) cannot lead a connection past it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ENDPOINT_REFUSED } from '../kube/client.ts';

/**
 * DEFAULT_DENIED_CIDRS are refused unless the operator says otherwise: link-local ranges, which
 * hold the cloud metadata services (169.254.169.254 on AWS, GCP and Azure; fd00:ec2::254 on AWS
 * over IPv6), and Alibaba Cloud's metadata address.
 */
export const DEFAULT_DENIED_CIDRS: readonly string[] = [
  '169.254.0.0/16',
  'fe80::/10',
  'fd00:ec2::254/128',
  '100.100.100.200/32',
];

/** DEFAULT_DENIED_HOSTS are host names of metadata services, refused before any DNS lookup. */
export const DEFAULT_DENIED_HOSTS: readonly string[] = ['metadata.google.internal'];

/**
 * LOOPBACK_CIDRS are the addresses that reach the controller's own host: loopback, and the
 * unspecified addresses, which Linux connects to loopback. The Helm chart denies them, since inside
 * a pod they are the controller's own ports; `npm start` allows them so local clusters work.
 */
export const LOOPBACK_CIDRS: readonly string[] = ['127.0.0.0/8', '0.0.0.0/8', '::1/128', '::/128'];

/** EndpointPolicySpec is the policy as the operator writes it (flags). */
export interface EndpointPolicySpec {
  /** allowedCidrs, when not empty, are the only address ranges a DataPlane may reach (or allowedHosts). */
  allowedCidrs: readonly string[];
  /** deniedCidrs are never reached; a deny wins over an allow. */
  deniedCidrs: readonly string[];
  /** allowedHosts, when not empty, are host names (exact, or `*.suffix`) a DataPlane may name (or allowedCidrs). */
  allowedHosts: readonly string[];
  /** deniedHosts are host names (exact, or `*.suffix`) never reached. */
  deniedHosts: readonly string[];
  /** allowHttp permits plain `http://` servers; https only otherwise. */
  allowHttp: boolean;
}

/** DEFAULT_ENDPOINT_POLICY allows everything but the metadata and link-local addresses, https only. */
export const DEFAULT_ENDPOINT_POLICY: EndpointPolicySpec = {
  allowedCidrs: [],
  deniedCidrs: DEFAULT_DENIED_CIDRS,
  allowedHosts: [],
  deniedHosts: DEFAULT_DENIED_HOSTS,
  allowHttp: false,
};

/** EndpointSettings name the flag behind each part of the policy, for messages. */
export const EndpointSettings = {
  allowedCidrs: '--dataplane-allowed-cidrs',
  deniedCidrs: '--dataplane-denied-cidrs',
  allowedHosts: '--dataplane-allowed-hosts',
  deniedHosts: '--dataplane-denied-hosts',
  allowHttp: '--dataplane-allow-http',
} as const;

/** EndpointRefusedError is a connection the policy refused; its message names the rule and the flag. */
export class EndpointRefusedError extends Error {
  /** code lets the client tell this refusal from a network failure. */
  readonly code = ENDPOINT_REFUSED;
  constructor(message: string) {
    super(message);
    this.name = 'EndpointRefusedError';
  }
}

/** Range is one parsed CIDR. */
interface Range {
  text: string;
  list: BlockList;
}

/**
 * parseCidr reads `address/prefix` (an address alone is a single host); it throws an Error naming
 * the text when it is not one.
 */
export function parseCidr(text: string): Range {
  const [address = '', prefixText] = text.trim().split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new Error(`"${text}" is not a CIDR (for example 10.0.0.0/8 or fd00::/8)`);
  }
  const list = new BlockList();
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return { text: text.trim(), list };
}

/** parseHostPattern checks a host pattern: a DNS name, or `*.` and a DNS name (any subdomain). */
export function parseHostPattern(text: string): string {
  const pattern = text.trim().toLowerCase().replace(/\.$/, '');
  const name = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name)) {
    throw new Error(`"${text}" is not a host name or *.suffix pattern`);
  }
  return pattern;
}

function hostMatches(pattern: string, host: string): boolean {
  return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern;
}

/**
 * ipv4Of returns the IPv4 address an IPv6 address carries: IPv4-mapped (`::ffff:0:0/96`) and the
 * well-known NAT64 prefix (`64:ff9b::/96`), in either notation, both of which reach that IPv4 host.
 */
function ipv4Of(address: string): string | undefined {
  const words = ipv6Words(address);
  if (!words) return undefined;
  const mapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
  const nat64 = words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0);
  if (!mapped && !nat64) return undefined;
  const [hi = 0, lo = 0] = words.slice(6);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** ipv6Words expands an IPv6 address (with `::` and a dotted IPv4 tail) into its eight 16-bit words. */
function ipv6Words(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (p: string) => (p ? p.split(':').map((w) => parseInt(w, 16)) : []);
  const first = part(head);
  const last = tail === undefined ? [] : part(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}

function inRange(range: Range, address: string): boolean {
  const mapped = ipv4Of(address);
  if (mapped) return range.list.check(mapped, 'ipv4') || range.list.check(address, 'ipv6');
  return range.list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** EndpointPolicy checks URLs and addresses against the operator's policy (pure, apart from DNS in lookup). */
export class EndpointPolicy {
  private readonly allowedCidrs: Range[];
  private readonly deniedCidrs: Range[];
  private readonly allowedHosts: string[];
  private readonly deniedHosts: string[];
  private readonly allowHttp: boolean;

  constructor(spec: EndpointPolicySpec) {
    this.allowedCidrs = spec.allowedCidrs.map(parseCidr);
    this.deniedCidrs = spec.deniedCidrs.map(parseCidr);
    this.allowedHosts = spec.allowedHosts.map(parseHostPattern);
    this.deniedHosts = spec.deniedHosts.map(parseHostPattern);
    this.allowHttp = spec.allowHttp;
  }

  /** restricted tells whether an allow list is set, so that an endpoint must match one. */
  private get restricted(): boolean {
    return this.allowedCidrs.length > 0 || this.allowedHosts.length > 0;
  }

  /**
   * checkUrl returns why the policy refuses a server URL before any connection, or undefined: the
   * scheme, the host name rules, and the address rules when the host is an address. `tunnelled`
   * URLs name an address inside the data plane's own network, reached through the operator's
   * proxy, so only the scheme applies to them.
   */
  checkUrl(server: string, tunnelled = false): string | undefined {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      return 'it is not a URL';
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol}// is not https://`;
    if (url.protocol === 'http:' && !this.allowHttp) {
      return `plain http:// is not allowed, use https:// (${EndpointSettings.allowHttp} allows it)`;
    }
    if (tunnelled) return undefined;
    const host = url.hostname
      .replace(/^\[(.*)\]$/, '$1')
      .toLowerCase()
      .replace(/\.$/, '');
    if (isIP(host)) return this.checkAddress(host, false);
    const denied = this.deniedHosts.find((p) => hostMatches(p, host));
    if (denied) return `host ${host} matches the denied host ${denied} (${EndpointSettings.deniedHosts})`;
    return undefined;
  }

  /**
   * checkServer returns why the policy refuses a server before any connection, or undefined: the
   * URL rules (checkUrl), then every address its host resolves to now (the lookup of the client
   * checks again at every connect). A name that does not resolve now is left to the connection.
   * The address is not quoted: what this process's DNS answers is not the tenant's to read.
   */
  async checkServer(server: string, tunnelled = false): Promise<string | undefined> {
    const why = this.checkUrl(server, tunnelled);
    if (why) return why;
    const host = serverHost(server);
    if (tunnelled || isIP(host)) return undefined;
    const allowed = this.hostAllowed(host);
    for (const address of (await resolveAll(host)) ?? []) {
      const refused = this.checkAddress(address, allowed);
      if (refused)
        return `${host} resolves to an address the policy refuses: ${refused.replace(address, 'it')}`;
    }
    return undefined;
  }

  /**
   * hostAllowed tells whether a host name is on the allow list (or there is none), in which case
   * its addresses need not be in an allowed range.
   */
  hostAllowed(host: string): boolean {
    if (!this.restricted) return true;
    const name = host.toLowerCase().replace(/\.$/, '');
    return this.allowedHosts.some((p) => hostMatches(p, name));
  }

  /**
   * checkAddress returns why the policy refuses one address, or undefined. A denied range always
   * refuses; with allow lists, an address must be in an allowed range unless its host name was
   * allowed.
   */
  checkAddress(address: string, hostAllowed: boolean): string | undefined {
    const denied = this.deniedCidrs.find((r) => inRange(r, address));
    if (denied) return `${address} is in the denied range ${denied.text} (${EndpointSettings.deniedCidrs})`;
    if (!this.restricted || hostAllowed) return undefined;
    if (this.allowedCidrs.some((r) => inRange(r, address))) return undefined;
    return `${address} is in none of the allowed ranges and its host is not an allowed host (${EndpointSettings.allowedCidrs}, ${EndpointSettings.allowedHosts})`;
  }

  /**
   * lookup is a DNS lookup for the sockets of one data plane that refuses, at connect time, every
   * answer the policy does not allow: the check holds for the address actually connected to.
   */
  lookup(host: string): LookupFunction {
    const allowed = this.hostAllowed(host);
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (err, list) => {
        if (err) {
          callback(err, '', 0);
          return;
        }
        for (const { address } of list) {
          const why = this.checkAddress(address, allowed);
          if (why) {
            callback(refusal(hostname, why), '', 0);
            return;
          }
        }
        if (options.all) {
          (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
          return;
        }
        const first = list[0];
        if (!first) {
          callback(refusal(hostname, 'it resolves to no address'), '', 0);
          return;
        }
        callback(null, first.address, first.family);
      });
    };
  }
}

function refusal(host: string, why: string): EndpointRefusedError {
  return new EndpointRefusedError(`the controller's endpoint policy refuses ${host}: ${why}`);
}

/**
 * describeRefusal is the message of a refused DataPlane endpoint: the server, the rule, and what
 * to do.
 */
export function describeRefusal(where: string, server: string, why: string): string {
  return `${where}: server ${server} is refused by the controller's endpoint policy: ${why}. Use another server address, or ask the platform operator to change the policy`;
}

/** serverHost is the host of a server URL, without the brackets of an IPv6 address. */
export function serverHost(server: string): string {
  return new URL(server).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** resolveAll resolves a host name to every address, or undefined when DNS does not answer now. */
export function resolveAll(host: string): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    dnsLookup(host, { all: true }, (err, addresses) => {
      resolve(err ? undefined : addresses.map((a) => a.address));
    });
  });
}
