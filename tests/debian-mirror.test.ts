/**
 * The Debian mirror comes from the machine's apt sources (tests/debian-mirror.ts), and no registry's
 * host name is written in the project: the hosts are read from this machine's own settings (apt
 * sources, npm's registry, Go's module proxy), never listed here.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { aptSourceFiles, debianMirror, debianMirrorOf } from "./debian-mirror";
import { REPO_ROOT, tmpDir } from "./helpers";

const DEB822 = `Types: deb
URIs: http://mirror.test/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.test/debian-security
Suites: bookworm-security
Components: main
`;

describe("the Debian mirror of apt's sources", () => {
  it("reads deb822 and one-line sources, the archive only (not -security), skipping disabled stanzas, deb-src and comments", () => {
    expect(debianMirrorOf([DEB822])).toBe("http://mirror.test/debian");
    expect(debianMirrorOf(["# deb http://old.test/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] https://one.test/debian/ bookworm main\n"])).toBe("https://one.test/debian");
    expect(debianMirrorOf(["Types: deb\nURIs: http://off.test/debian\nSuites: bookworm\nEnabled: no\n", "Types: deb-src\nURIs: http://src.test/debian\nSuites: bookworm\n", DEB822])).toBe("http://mirror.test/debian");
    expect(debianMirrorOf(["deb http://mirror.test/debian-security bookworm-security main\n"])).toBeUndefined();
    expect(debianMirrorOf([])).toBeUndefined();
  });

  it("reads /etc/apt's files in apt's order, and fails with a clear message when none is configured", () => {
    const etc = tmpDir("kf-apt-");
    expect(() => debianMirror(etc)).toThrow(/no Debian mirror is configured in apt's sources \(nothing under .*\): add the machine's Debian archive/);
    fs.mkdirSync(path.join(etc, "sources.list.d"));
    fs.writeFileSync(path.join(etc, "sources.list.d", "b.sources"), DEB822);
    fs.writeFileSync(path.join(etc, "sources.list.d", "a.list"), "deb http://first.test/debian bookworm main\n");
    fs.writeFileSync(path.join(etc, "sources.list.d", "notes.txt"), "deb http://ignored.test/debian bookworm main\n");
    expect(aptSourceFiles(etc).map((f) => path.basename(f))).toEqual(["a.list", "b.sources"]);
    expect(debianMirror(etc)).toBe("http://first.test/debian");
    fs.rmSync(path.join(etc, "sources.list.d", "a.list"));
    fs.writeFileSync(path.join(etc, "sources.list.d", "b.sources"), "Types: deb\nURIs: http://x.test/debian-security\nSuites: s\n");
    expect(() => debianMirror(etc)).toThrow(/no Debian mirror is configured in apt's sources \(.*b\.sources\)/);
  });
});

/** Host names of the registries this machine uses, from its own settings. */
function registryHosts(): string[] {
  const hosts = new Set<string>();
  const addUrls = (text: string) => {
    for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/([^/\s:"']+)/gi)) if (m[1].includes(".")) hosts.add(m[1].toLowerCase());
  };
  for (const f of aptSourceFiles()) addUrls(fs.readFileSync(f, "utf8"));
  const out = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
    return r.status === 0 ? r.stdout : "";
  };
  addUrls(out("npm", ["config", "get", "registry"]));
  addUrls(out("go", ["env", "GOPROXY"]).replace(/[,|]/g, " "));
  return [...hosts].sort();
}

describe("no registry's host name in the project", () => {
  it("no tracked file (lock files aside: npm writes their URLs) names the host of a registry this machine uses", () => {
    const hosts = registryHosts();
    expect(hosts.length, "this machine configures no registry at all").toBeGreaterThan(0);
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" })
      .split("\0")
      .filter((f) => f && !/(^|\/)package-lock\.json$/.test(f) && fs.existsSync(path.join(REPO_ROOT, f)));
    const found: string[] = [];
    for (const f of files) {
      const text = fs.readFileSync(path.join(REPO_ROOT, f), "utf8").toLowerCase();
      for (const h of hosts) if (text.includes(h)) found.push(`${f}: ${h}`);
    }
    expect(found).toEqual([]);
  });
});
