/**
 * Validation of a tenant's git repository URL: the exact string that reaches the backend's
 * ENV_GIT_SYNC_URL and, from there, git (curl for https, ssh for ssh:// and scp-like URLs). Pure.
 *
 * The string is checked as written, never after `new URL()` (which silently drops tabs and
 * newlines and rewrites hosts): no whitespace or control characters, no Pebble syntax, no
 * credentials, no host, user or path that an ssh or git command line would read as an option
 * (`-oProxyCommand=…`), and no host that names the node, a private network or a cloud metadata
 * service in any of the forms resolvers accept (decimal `2852039166`, hex `0xA9FEA9FE`, octal,
 * short `169.254.43518`, IPv4-mapped or NAT64 IPv6). Host names must be public DNS names with a
 * dot; single-label names (`minio`, `postgres`: the Swarm's own services) and special-use names
 * (`localhost`, `*.internal` such as metadata.google.internal) are refused. A public name that
 * resolves to a private address cannot be seen here: that is the network's job, not the loader's.
 */
import * as ipaddr from "ipaddr.js";
import { DOMAIN_RE } from "./fields";
import { codePoint, forbiddenCharacter } from "./safe-text";

const CREDENTIAL_HINT =
  "credentials do not belong in the URL: set `git.auth` and store the token or key with `pulumi config set --secret --path 'gitCredentials.<tenant>.token'` (see README, Secrets)";

const FORMS = "must be an https:// URL, an ssh:// URL or git@host:org/repo.git";

/** Characters of a repository path (RFC 3986 unreserved, '/', '%' escapes, '+', '~'). */
const PATH_RE = /^[A-Za-z0-9._~%+\/-]+$/;
const USER_RE = /^[A-Za-z0-9._-]+$/;
/** Top-level names reserved for private or local use (RFC 6761, RFC 6762, ICANN's .internal). */
const SPECIAL_TLDS = ["localhost", "local", "internal", "arpa"];
const IPV4_CANONICAL = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** Returns undefined when the URL may be deployed, else what is wrong with it. */
export function gitUrlProblem(url: string): string | undefined {
  if (/\{\{|\{%|\{#/.test(url)) return "must not contain a Pebble expression ({{ … }}, {% … %}, {# … #}): Kestra would evaluate it";
  const space = /\s/u.exec(url)?.[0];
  const bad = forbiddenCharacter(url) ?? (space ? `${codePoint(space)} (whitespace)` : undefined);
  if (bad) return `must not contain whitespace or control characters: found ${bad}`;
  if (/[^\x21-\x7e]/.test(url)) return "must be ASCII: write an international host name in punycode (xn--…)";

  let m = /^https:\/\/([^/?#]*)(.*)$/.exec(url);
  if (m) {
    const [, authority, rest] = m;
    if (authority.includes("@")) return CREDENTIAL_HINT;
    return hostPortProblem(authority) ?? pathProblem(rest, "/");
  }
  m = /^ssh:\/\/([^/?#]*)(.*)$/.exec(url);
  if (m) {
    const [, authority, rest] = m;
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const user = authority.slice(0, at);
      if (user.includes(":")) return CREDENTIAL_HINT;
      const p = userProblem(user);
      if (p) return p;
    }
    return hostPortProblem(authority.slice(at + 1)) ?? pathProblem(rest, "/");
  }
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*:[^/]*@/i.test(url)) return CREDENTIAL_HINT;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return FORMS;
  // scp-like: user@host:path (git reads it as ssh). The host has no port and no brackets here.
  m = /^([^@/:]+)@([^/:]+):(.*)$/.exec(url);
  if (m) {
    const [, user, host, path] = m;
    return userProblem(user) ?? hostProblem(host) ?? pathProblem(path, "");
  }
  if (/^[^@/]*:[^@/]*@/.test(url)) return CREDENTIAL_HINT;
  return FORMS;
}

function userProblem(user: string): string | undefined {
  if (user.startsWith("-")) return "user must not start with '-': ssh would read it as an option";
  if (!USER_RE.test(user)) return "user must be letters, digits, '.', '_' or '-'";
  return undefined;
}

function pathProblem(rest: string, lead: string): string | undefined {
  if (/[?#]/.test(rest)) return "must not have a query (?…) or fragment (#…)";
  const path = rest.startsWith(lead) ? rest.slice(lead.length) : rest;
  if (!path || path === "/") return "must name a host and a repository path";
  if (/(^|\/)-/.test(path)) return "repository path must not start a segment with '-': git or ssh would read it as an option";
  if (!PATH_RE.test(path)) return "repository path must be letters, digits and . _ ~ % + / -";
  return undefined;
}

function hostPortProblem(hostport: string): string | undefined {
  if (!hostport) return "must name a host and a repository path";
  let host = hostport;
  let port: string | undefined;
  const v6 = /^(\[[^\]]*\])(?::(.*))?$/.exec(hostport);
  if (v6) {
    host = v6[1];
    port = v6[2];
  } else if (hostport.includes(":")) {
    const i = hostport.lastIndexOf(":");
    host = hostport.slice(0, i);
    port = hostport.slice(i + 1);
  }
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return "port must be a number from 1 to 65535";
  }
  return hostProblem(host);
}

/** Undefined for a public DNS name or a public IP literal; else why not. */
export function hostProblem(host: string): string | undefined {
  if (!host) return "must name a host and a repository path";
  if (host.startsWith("-")) return "host must not start with '-': ssh would read it as an option";
  if (host.startsWith("[") && host.endsWith("]")) {
    const inner = host.slice(1, -1);
    if (!ipaddr.IPv6.isValid(inner) || inner.includes("%")) return "host is not a valid IPv6 address";
    const addr = ipaddr.IPv6.parse(inner);
    const p = rangeProblem(addr.range());
    if (p) return p;
    if (addr.parts.slice(0, 6).every((x) => x === 0)) return "host is an IPv4-compatible IPv6 address (it embeds an IPv4 address), not a public git server";
    return undefined;
  }
  const lower = host.toLowerCase();
  if (ipaddr.IPv4.isValid(lower) || /^[0-9.]+$/.test(lower)) {
    if (!IPV4_CANONICAL.test(lower)) return "host is an IPv4 address in a non-standard form: write it as four decimal numbers (a.b.c.d)";
    return rangeProblem(ipaddr.IPv4.parse(lower).range());
  }
  if (!DOMAIN_RE.test(lower)) {
    return lower.includes(".") ? "host is not a valid host name" : "host must be a fully qualified public name (with a dot): single-label names reach the Swarm's own services";
  }
  const tld = lower.slice(lower.lastIndexOf(".") + 1);
  if (SPECIAL_TLDS.includes(tld)) return `host is a special-use name (.${tld}) that no public git server has`;
  return undefined;
}

const RANGE_NAMES: Record<string, string> = {
  unspecified: "the unspecified address",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address (169.254.0.0/16, fe80::/10: cloud metadata services live there)",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address (100.64.0.0/10)",
  private: "a private address (10/8, 172.16/12, 192.168/16: the Swarm's networks)",
  reserved: "a reserved address",
  uniqueLocal: "a unique local address (fc00::/7, e.g. AWS's metadata service fd00:ec2::254)",
  ipv4Mapped: "an IPv4-mapped IPv6 address",
  rfc6145: "an IPv4-translated IPv6 address",
  rfc6052: "a NAT64 IPv6 address (it embeds an IPv4 address)",
  "6to4": "a 6to4 IPv6 address (it embeds an IPv4 address)",
  teredo: "a Teredo IPv6 address (it embeds an IPv4 address)",
  benchmarking: "a benchmarking address",
  amt: "an AMT address",
  as112: "an AS112 address",
  deprecated: "a deprecated address",
  orchid2: "an ORCHID address",
  droneRemoteIdProtocolEntityTags: "a reserved address",
  discard: "a discard-only address",
};

function rangeProblem(range: string): string | undefined {
  if (range === "unicast") return undefined;
  return `host is ${RANGE_NAMES[range] ?? `a special-purpose address (${range})`}, not a public git server`;
}
