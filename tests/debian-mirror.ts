/**
 * The Debian mirror this machine's apt uses, read from its sources (deb822 `.sources` files and
 * one-line `.list` files). No mirror host is written anywhere in the project: the tests' pinned
 * packages (tests/tools.ts) and the e2e's debootstrap (e2e/standins.ts) both read it here.
 */
import * as fs from "fs";
import * as path from "path";

/** The apt source files, in apt's order: sources.list, then sources.list.d/ sorted. */
export function aptSourceFiles(etcApt = "/etc/apt"): string[] {
  const out: string[] = [];
  const main = path.join(etcApt, "sources.list");
  if (fs.existsSync(main)) out.push(main);
  const dir = path.join(etcApt, "sources.list.d");
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).sort()) if (/\.(sources|list)$/.test(f)) out.push(path.join(dir, f));
  }
  return out;
}

/**
 * The first Debian archive URI (`…/debian`, not `…/debian-security`) of the given source texts, without
 * a trailing slash; undefined when none. deb822: `URIs:` lines of stanzas that are not disabled
 * (`Enabled: no`); one-line: `deb [options] URI suite …` (commented lines ignored).
 */
export function debianMirrorOf(texts: readonly string[]): string | undefined {
  const archive = (uri: string) => (/^[a-z][a-z0-9+.-]*:\/\/\S+\/debian\/?$/.test(uri) ? uri.replace(/\/$/, "") : undefined);
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const fields = stanza.split("\n").filter((l) => !l.trimStart().startsWith("#"));
      if (fields.some((l) => /^Enabled:\s*no\s*$/i.test(l))) continue;
      const types = fields.find((l) => /^Types:/i.test(l));
      if (types && !types.replace(/^Types:/i, "").trim().split(/\s+/).includes("deb")) continue;
      for (const l of fields) {
        const m = /^URIs:\s*(.+)$/i.exec(l);
        if (!m) continue;
        for (const uri of m[1].trim().split(/\s+/)) {
          const found = archive(uri);
          if (found) return found;
        }
      }
    }
    for (const line of text.split("\n")) {
      const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line);
      const found = m && archive(m[1]);
      if (found) return found;
    }
  }
  return undefined;
}

/** The machine's Debian mirror, or an error saying where it was looked for and what to do. */
export function debianMirror(etcApt = "/etc/apt"): string {
  const files = aptSourceFiles(etcApt);
  const mirror = debianMirrorOf(files.map((f) => fs.readFileSync(f, "utf8")));
  if (mirror) return mirror;
  throw new Error(
    `no Debian mirror is configured in apt's sources (${files.length ? files.join(", ") : `nothing under ${etcApt}`}): ` +
      "add the machine's Debian archive to /etc/apt/sources.list.d/debian.sources (a `URIs:` line ending in /debian), then run apt-get update",
  );
}
