/**
 * Stand-in images (no registry is reachable on our machines): ONE Debian bookworm minbase root
 * file system with PostgreSQL 15, curl and socat, trimmed, plus the scripts of e2e/standins, imported
 * once per role with its own entry point. The imports share one layer (same tar, same digest), so
 * the images cost one copy on disk; each container still costs one (vfs).
 */
import * as fs from "fs";
import * as path from "path";
import { debianMirror } from "../tests/debian-mirror";
import { buildComponent, builtBinary, COMPONENTS } from "./components";
import { type Docker, ensurePackages, must, sh } from "./docker";

/** The image of the real MinIO server and client (../.cache/components), tagged with their versions. */
const component = (name: string) => COMPONENTS.find((c) => c.name === name)!;
export const MINIO_IMAGE = `kestra-fleet-e2e/minio:${component("minio").version.split("-").pop()}-mc${component("mc").version.split("-").pop()}`;

/** Stand-in image of each service role (the `kestra-fleet.role` label of the program's services). */
export const STANDIN_BY_ROLE: Record<string, string> = {
  postgres: "kestra-fleet-e2e/postgres:standin",
  web: "kestra-fleet-e2e/kestra:standin",
  backend: "kestra-fleet-e2e/kestra:standin",
  worker: "kestra-fleet-e2e/kestra:standin",
  // The real MinIO server (and mc, for the program's `mc ready local` health check), built from Go
  // modules by ./components: not a stand-in.
  storage: MINIO_IMAGE,
  gateway: "kestra-fleet-e2e/socat:standin",
  // The program's own backup script (a Swarm config) runs unchanged on Debian's pg_dump 15 (the
  // stand-in server's major) with the `mc` stand-in, which keeps uploads inside the container.
  backup: "kestra-fleet-e2e/backup:standin",
  // Debian's prometheus 2.42 binary (host package) on the base, running the program's rendered
  // prometheus.yml unchanged.
  prometheus: "kestra-fleet-e2e/prometheus:standin",
  // wollomatic/socket-proxy cannot be pulled: socat forwarding its port to the engine's socket,
  // WITHOUT the proxy's allow-list (the filter stays unproven in e2e).
  "socket-proxy": "kestra-fleet-e2e/socket-proxy:standin",
};

const PATH = "/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Where the official postgres image keeps PGDATA for a major version (18 moved it). */
export function officialPgdata(image: string): string {
  const major = Number(/:([0-9]+)/.exec(image)?.[1] ?? "18");
  return major >= 18 ? `/var/lib/postgresql/${major}/docker` : "/var/lib/postgresql/data";
}

/** Debian packages of the base (busybox: its httpd serves the backup script's metrics, like alpine's busybox-extras in images/backup). */
const DEBOOTSTRAP_INCLUDE = "postgresql-15,curl,socat,busybox";
/** Where the trimmed base is kept between runs (git-ignored). */
const BASE_CACHE = path.resolve(__dirname, "..", ".cache", "e2e");

/** Removed from the root file system: caches, lists, docs, locales, LLVM and z3 (JIT is off), perl modules. */
const TRIM = [
  "var/lib/apt/lists",
  "var/cache/apt",
  "var/cache/debconf/templates.dat-old",
  "var/log",
  "usr/share/doc",
  "usr/share/man",
  "usr/share/info",
  "usr/share/locale",
  "usr/share/i18n",
  "usr/share/perl",
  "usr/lib/x86_64-linux-gnu/perl",
  "usr/lib/postgresql/15/lib/bitcode",
  "usr/lib/postgresql/15/lib/llvmjit.so",
  "usr/lib/postgresql/15/lib/llvmjit_types.bc",
  // Debian's default cluster: the image must not seed the data volume with it.
  "var/lib/postgresql/15",
  "etc/postgresql/15",
];

export function standinsPresent(docker: Docker): boolean {
  return [...new Set(Object.values(STANDIN_BY_ROLE))].every((i) => docker.run(["image", "inspect", i]).code === 0);
}

/**
 * The trimmed Debian root file system as a tar, kept in the git-ignored cache: later runs skip
 * debootstrap. Returns its path.
 */
export function ensureBase(workDir: string, log: (s: string) => void): string {
  const root = path.join(workDir, "rootfs");
  const base = path.join(BASE_CACHE, `bookworm-${DEBOOTSTRAP_INCLUDE.replace(/,/g, "-")}.tar`);
  if (!fs.existsSync(base)) {
    fs.rmSync(root, { recursive: true, force: true });
    const mirror = debianMirror();
    log(`debootstrap bookworm (minbase + ${DEBOOTSTRAP_INCLUDE}) from the machine's Debian mirror`);
    try {
      must("debootstrap", ["--variant=minbase", `--include=${DEBOOTSTRAP_INCLUDE}`, "bookworm", root, mirror], { timeoutMs: 1_800_000 });
    } finally {
      // An interrupted debootstrap leaves /proc (and /sys) mounted in the chroot.
      for (const m of fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m) => m?.startsWith(`${root}/`)).sort().reverse()) sh("umount", ["-l", m]);
    }
    for (const p of TRIM) fs.rmSync(path.join(root, p), { recursive: true, force: true });
    for (const f of fs.readdirSync(path.join(root, "usr/lib/x86_64-linux-gnu")).filter((x) => /^lib(LLVM|z3)/.test(x))) {
      fs.rmSync(path.join(root, "usr/lib/x86_64-linux-gnu", f), { force: true });
    }
    fs.mkdirSync(BASE_CACHE, { recursive: true });
    must("tar", ["-C", root, "-cf", `${base}.part`, "."]);
    fs.renameSync(`${base}.part`, base);
    fs.rmSync(root, { recursive: true, force: true });
  } else log(`Debian root file system from the cache (${base})`);
  return base;
}

/** Builds the base root file system and imports one image per stand-in. */
export function buildStandins(docker: Docker, workDir: string, postgresImage: string, log: (s: string) => void): void {
  ensurePackages(["debootstrap", "prometheus"], log);
  const tar = path.join(workDir, "rootfs.tar");
  const base = ensureBase(workDir, log);
  fs.copyFileSync(base, tar);
  // The stand-in scripts, appended to the copy.
  const scripts = path.join(__dirname, "standins");
  const stage = path.join(workDir, "scripts-root");
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, "usr/local/bin"), { recursive: true });
  for (const f of fs.readdirSync(scripts)) {
    fs.copyFileSync(path.join(scripts, f), path.join(stage, "usr/local/bin", f));
    fs.chmodSync(path.join(stage, "usr/local/bin", f), 0o755);
  }
  // The socket proxy's health check (the real image's /healthcheck binary).
  fs.copyFileSync(path.join(scripts, "socket-proxy-standin"), path.join(stage, "healthcheck"));
  fs.chmodSync(path.join(stage, "healthcheck"), 0o755);
  must("tar", ["-C", stage, "-rf", tar, "./healthcheck", ...fs.readdirSync(scripts).map((f) => `./usr/local/bin/${f}`)]);
  fs.rmSync(stage, { recursive: true, force: true });
  // Prometheus: the base plus Debian's binary (linked against libc only; the base is bookworm too).
  const promRoot = path.join(workDir, "prometheus-root");
  fs.rmSync(promRoot, { recursive: true, force: true });
  fs.mkdirSync(path.join(promRoot, "usr/local/bin"), { recursive: true });
  fs.copyFileSync("/usr/bin/prometheus", path.join(promRoot, "usr/local/bin/prometheus"));
  fs.chmodSync(path.join(promRoot, "usr/local/bin/prometheus"), 0o755);
  log(`base root file system: ${Math.round(fs.statSync(tar).size / 1048576)} MiB`);
  const entry: Record<string, string[]> = {
    "kestra-fleet-e2e/postgres:standin": [`ENV PGDATA=${officialPgdata(postgresImage)}`, 'ENTRYPOINT ["postgres-entrypoint"]'],
    "kestra-fleet-e2e/kestra:standin": ['ENTRYPOINT ["docker-entrypoint.sh"]'],
    "kestra-fleet-e2e/socat:standin": ['ENTRYPOINT ["socat"]'],
    "kestra-fleet-e2e/socket-proxy:standin": ['ENTRYPOINT ["socket-proxy-standin"]'],
    // The service's spec names the command (/bin/sh <script> dump).
    "kestra-fleet-e2e/backup:standin": [],
  };
  for (const [image, changes] of Object.entries(entry)) {
    docker.must(["import", ...[`ENV PATH=${PATH}`, ...changes].flatMap((c) => ["-c", c]), tar, image]);
  }
  // MinIO: the base plus the server and client binaries (static, CGO off).
  const minioTar = path.join(workDir, "minio.tar");
  const minioRoot = path.join(workDir, "minio-root");
  fs.rmSync(minioRoot, { recursive: true, force: true });
  fs.mkdirSync(path.join(minioRoot, "usr/local/bin"), { recursive: true });
  for (const name of ["minio", "mc"]) {
    // Built from its Go module when missing (the first run: minutes, see README).
    if (!builtBinary(component(name))) buildComponent(component(name), log);
    const bin = builtBinary(component(name))!;
    fs.copyFileSync(bin, path.join(minioRoot, "usr/local/bin", name));
    fs.chmodSync(path.join(minioRoot, "usr/local/bin", name), 0o755);
  }
  // From the cached base, without the stand-in scripts (whose `mc` stand-in would be a second entry of that path).
  fs.copyFileSync(base, minioTar);
  must("tar", ["-C", minioRoot, "-rf", minioTar, "./usr/local/bin/minio", "./usr/local/bin/mc"]);
  docker.must(["import", "-c", `ENV PATH=${PATH}`, "-c", 'ENTRYPOINT ["minio"]', minioTar, MINIO_IMAGE]);
  fs.rmSync(minioRoot, { recursive: true, force: true });
  fs.rmSync(minioTar, { force: true });
  const promTar = path.join(workDir, "prometheus.tar");
  fs.copyFileSync(tar, promTar);
  must("tar", ["-C", promRoot, "-rf", promTar, "./usr/local/bin/prometheus"]);
  docker.must(["import", "-c", `ENV PATH=${PATH}`, "-c", 'ENTRYPOINT ["prometheus"]', promTar, "kestra-fleet-e2e/prometheus:standin"]);
  fs.rmSync(promRoot, { recursive: true, force: true });
  fs.rmSync(promTar, { force: true });
  fs.rmSync(tar, { force: true });
}

export function removeStandins(docker: Docker): void {
  for (const i of new Set(Object.values(STANDIN_BY_ROLE))) docker.run(["image", "rm", "-f", i]);
}
