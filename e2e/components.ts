/**
 * The real components of the end-to-end suite, built from Go modules (no image registry and no
 * release downloads are reachable here): MinIO's server and client, and Traefik. Each is pinned to
 * an exact module version and built once into `.cache/components/<name>@<version>/` (git-ignored);
 * a build that finished leaves a `build.json` stamp beside the binary, so a second run does nothing.
 *
 *   npm run components            builds what is missing, one at a time, and prints the figures
 *
 * Versions: the Go module proxy we reach serves only some versions of each module; the pins below
 * are the ones it serves (README, End-to-end suite, says which and what they lack).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface GoComponent {
  /** Folder and binary name. */
  name: string;
  /** The main package to build. */
  pkg: string;
  /** The module that holds it and its exact version (a tag or a pseudo-version). */
  module: string;
  version: string;
  /** -X assignments (package.var=value). */
  ldflagsX: string[];
  tags?: string[];
  /**
   * Replaces the module's own go.mod declares: Go ignores a dependency's replaces and refuses
   * `go install pkg@version` when the main module has any, so these are built from a wrapper module
   * generated in the cache that requires the module and repeats its replaces.
   */
  replaces?: Record<string, string>;
}

const MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c";
const MC_VERSION = "v0.0.0-20250313080218-cf909e1063a9";
const TRAEFIK_VERSION = "v3.6.12";

/** A pseudo-version's time stamp as MinIO's release tags write it (2026-02-12T20-18-48Z). */
function minioStamp(pseudo: string): string {
  const t = /-([0-9]{14})-/.exec(pseudo)![1];
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}-${t.slice(10, 12)}-${t.slice(12, 14)}Z`;
}
const commitOf = (pseudo: string) => pseudo.split("-").pop()!;

export const COMPONENTS: GoComponent[] = [
  {
    name: "minio",
    pkg: "github.com/minio/minio",
    module: "github.com/minio/minio",
    version: MINIO_VERSION,
    // What minio's buildscripts/gen-ldflags.go sets; the release tag names the commit's time.
    ldflagsX: [
      `github.com/minio/minio/cmd.Version=${minioStamp(MINIO_VERSION).replace(/T(..)-(..)-(..)Z/, "T$1:$2:$3Z")}`,
      `github.com/minio/minio/cmd.ReleaseTag=DEVELOPMENT.${minioStamp(MINIO_VERSION)}`,
      `github.com/minio/minio/cmd.CommitID=${commitOf(MINIO_VERSION)}`,
      `github.com/minio/minio/cmd.ShortCommitID=${commitOf(MINIO_VERSION)}`,
    ],
  },
  {
    name: "mc",
    pkg: "github.com/minio/mc",
    module: "github.com/minio/mc",
    version: MC_VERSION,
    ldflagsX: [
      `github.com/minio/mc/cmd.Version=${minioStamp(MC_VERSION).replace(/T(..)-(..)-(..)Z/, "T$1:$2:$3Z")}`,
      `github.com/minio/mc/cmd.ReleaseTag=DEVELOPMENT.${minioStamp(MC_VERSION)}`,
      `github.com/minio/mc/cmd.CommitID=${commitOf(MC_VERSION)}`,
      `github.com/minio/mc/cmd.ShortCommitID=${commitOf(MC_VERSION)}`,
    ],
  },
  {
    name: "traefik",
    pkg: "github.com/traefik/traefik/v3/cmd/traefik",
    module: "github.com/traefik/traefik/v3",
    version: TRAEFIK_VERSION,
    ldflagsX: [`github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION.slice(1)}`],
    // traefik's go.mod at v3.6.12: the Containous forks.
    replaces: {
      "github.com/abbot/go-http-auth": "github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e",
      "github.com/gorilla/mux": "github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59",
      "github.com/mailgun/minheap": "github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595",
    },
  },
];

export const CACHE = path.resolve(__dirname, "..", ".cache", "components");

export function componentDir(c: GoComponent): string {
  return path.join(CACHE, `${c.name}@${c.version}`);
}

/** The built binary, or undefined when it has not been built (or its build did not finish). */
export function builtBinary(c: GoComponent): string | undefined {
  const dir = componentDir(c);
  return fs.existsSync(path.join(dir, "build.json")) && fs.existsSync(path.join(dir, c.name)) ? path.join(dir, c.name) : undefined;
}

export interface BuildFigures {
  name: string;
  version: string;
  seconds: number;
  maxRssMiB: number;
  binaryMiB: number;
  cached: boolean;
}

/** Builds one component when its stamp is missing; returns the figures (`cached` when nothing ran). */
export function buildComponent(c: GoComponent, log: (s: string) => void = console.log): BuildFigures {
  const dir = componentDir(c);
  const bin = path.join(dir, c.name);
  if (builtBinary(c)) {
    const stamp = JSON.parse(fs.readFileSync(path.join(dir, "build.json"), "utf8"));
    return { ...stamp, cached: true };
  }
  fs.mkdirSync(dir, { recursive: true });
  const env = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local", GOWORK: "off" };
  const ldflags = ["-s", "-w", ...c.ldflagsX.map((x) => `-X ${x}`)].join(" ");
  const buildArgs = ["build", "-trimpath", ...(c.tags ? ["-tags", c.tags.join(",")] : []), "-ldflags", ldflags, "-o", `${bin}.part`];
  let cwd: string;
  if (c.replaces) {
    // The wrapper module: requires the module at its version and repeats its replaces.
    cwd = path.join(dir, "wrapper");
    fs.mkdirSync(cwd, { recursive: true });
    const mod = [
      "module kestra-fleet.local/components/" + c.name,
      "",
      "go 1.25.0",
      "",
      `require ${c.module} ${c.version}`,
      "",
      ...Object.entries(c.replaces).map(([from, to]) => `replace ${from} => ${to}`),
      "",
    ].join("\n");
    fs.writeFileSync(path.join(cwd, "go.mod"), mod);
    // The main package is the module's: `go build <pkg>` resolves it through the requirement;
    // the module's own go.mod fixes every other dependency (minimal version selection).
    run("go", ["mod", "download", c.module], cwd, env, log);
  } else {
    // No replaces: a throwaway module requiring it at the exact version (the same as go install pkg@version).
    cwd = path.join(dir, "wrapper");
    fs.mkdirSync(cwd, { recursive: true });
    fs.writeFileSync(path.join(cwd, "go.mod"), `module kestra-fleet.local/components/${c.name}\n\ngo 1.25.0\n\nrequire ${c.module} ${c.version}\n`);
  }
  const started = Date.now();
  const timed = spawnSync("/usr/bin/time", ["-f", "%M", "go", ...buildArgs, c.pkg], { cwd, env, encoding: "utf8", stdio: ["ignore", "inherit", "pipe"] });
  const seconds = Math.round((Date.now() - started) / 1000);
  const errLines = (timed.stderr ?? "").trim().split("\n");
  if (timed.status !== 0) throw new Error(`go build ${c.pkg}@${c.version} exited ${timed.status}: ${errLines.slice(-20).join("\n")}`);
  fs.renameSync(`${bin}.part`, bin);
  const maxRssMiB = Math.round(Number(errLines.pop()) / 1024);
  const figures = { name: c.name, version: c.version, seconds, maxRssMiB, binaryMiB: Math.round(fs.statSync(bin).size / 1048576) };
  fs.writeFileSync(path.join(dir, "build.json"), JSON.stringify(figures, null, 2) + "\n");
  log(`${c.name} ${c.version}: built in ${seconds} s, peak RSS ${maxRssMiB} MiB, binary ${figures.binaryMiB} MiB`);
  return { ...figures, cached: false };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: (s: string) => void): void {
  log(`${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd, env, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
}

/** Every component, built when missing. */
export function buildComponents(log: (s: string) => void = console.log): BuildFigures[] {
  if (spawnSync("go", ["version"]).status !== 0) throw new Error("the Go toolchain is needed (Go 1.25 or later): apt-get install -y golang, or install Go");
  return COMPONENTS.map((c) => buildComponent(c, log));
}

if (require.main === module) {
  const only = process.argv.slice(2);
  const started = Date.now();
  for (const c of COMPONENTS.filter((x) => only.length === 0 || only.includes(x.name))) {
    const f = buildComponent(c);
    if (f.cached) console.log(`${c.name} ${c.version}: cached (${builtBinary(c)})`);
  }
  console.log(`components ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
