/**
 * Placeholder values: documentation names, addresses and ids that the shipped examples use and that
 * must never reach a real deployment. Pure: the plan and the real run report them per stack (README,
 * "Placeholder values").
 */
import { BlockList, isIP } from "net";

export const PLACEHOLDER_DOMAINS = ["example.com", "example.net", "example.org"] as const;
/** RFC 2606 / 6761 top-level names that never resolve publicly. */
const PLACEHOLDER_TLDS = ["example", "invalid", "test", "localhost"];
/** RFC 5737 and RFC 3849 documentation ranges. */
export const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"] as const;

const docRanges = new BlockList();
for (const r of DOCUMENTATION_RANGES) {
  const [addr, bits] = r.split("/");
  docRanges.addSubnet(addr, Number(bits), isIP(addr) === 6 ? "ipv6" : "ipv4");
}

function placeholderDomain(token: string): string | undefined {
  const t = token.toLowerCase().replace(/^[.-]+|[.-]+$/g, "");
  for (const d of PLACEHOLDER_DOMAINS) if (t === d || t.endsWith(`.${d}`)) return d;
  const tld = t.split(".").pop() ?? "";
  if (t.includes(".") && PLACEHOLDER_TLDS.includes(tld)) return `.${tld}`;
  return undefined;
}

function documentationAddress(token: string): string | undefined {
  const [addr, bits] = token.split("/");
  const family = isIP(addr);
  if (!family || (bits !== undefined && !/^[0-9]{1,3}$/.test(bits))) return undefined;
  if (!docRanges.check(addr, family === 6 ? "ipv6" : "ipv4")) return undefined;
  return DOCUMENTATION_RANGES.find((r) => {
    const [a, b] = r.split("/");
    const one = new BlockList();
    one.addSubnet(a, Number(b), isIP(a) === 6 ? "ipv6" : "ipv4");
    return one.check(addr, family === 6 ? "ipv6" : "ipv4");
  });
}

/**
 * A sample id: 16 or more hex digits (dashes ignored) that count up or down through the hex alphabet
 * (`0123456789abcdef…`, `fedcba98…`) or repeat one digit (`0000…`), as documentation ids do.
 */
export function sampleId(value: string): boolean {
  const hex = value.toLowerCase().replace(/-/g, "");
  if (hex.length < 16 || !/^[0-9a-f]+$/.test(hex)) return false;
  const d = [...hex].map((c) => parseInt(c, 16));
  const step = (k: number) => d.every((x, i) => i === 0 || x === (d[i - 1] + k + 16) % 16);
  return step(0) || step(1) || step(-1);
}

/** Why a string is a placeholder, or undefined. */
export function placeholderReason(value: string): string | undefined {
  if (sampleId(value)) return "a sample id";
  for (const token of value.split(/[^A-Za-z0-9.:/-]+/)) {
    // URLs and e-mails: the host part counts (ssh://deploy@host, ops@example.com).
    for (const part of token.split(/[@/]|:\/\//)) {
      const d = placeholderDomain(part.replace(/:[0-9]+$/, ""));
      if (d) return d.startsWith(".") ? `a name under the reserved top-level domain ${d}` : `a name under the documentation domain ${d}`;
    }
    const range = documentationAddress(token);
    if (range) return `an address in the documentation range ${range}`;
  }
  return undefined;
}

export interface PlaceholderFinding {
  path: (string | number)[];
  reason: string;
}

/** Every string leaf of a value that is a placeholder, with its path. */
export function findPlaceholders(value: unknown, path: (string | number)[] = []): PlaceholderFinding[] {
  if (typeof value === "string") {
    const reason = placeholderReason(value);
    return reason ? [{ path, reason }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findPlaceholders(v, [...path, i]));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => findPlaceholders(v, [...path, k]));
  return [];
}
