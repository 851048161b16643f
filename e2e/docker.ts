/**
 * The Docker engine of the end-to-end suite: a private dockerd (socket, data root and exec root
 * under one work directory, vfs storage, no iptables, no bridge) started only when nothing answers
 * on that socket, and stopped by the pid it was started with. Debian packages it needs are
 * installed when missing.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface Result {
  code: number;
  out: string;
  err: string;
}

/** Runs a command; never throws. */
export function sh(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Result {
  const r = spawnSync(cmd, args, { input: opts.input, env: opts.env ?? process.env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs });
  return { code: r.status ?? 1, out: r.stdout ?? "", err: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
export function must(cmd: string, args: string[], opts: Parameters<typeof sh>[2] = {}): string {
  const r = sh(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(" ")}… exited ${r.code}: ${r.err.trim().slice(0, 800)}`);
  return r.out;
}

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** The docker client bound to the suite's socket. */
export class Docker {
  constructor(readonly socket: string) {}
  private env() {
    return { ...process.env, DOCKER_HOST: `unix://${this.socket}`, DOCKER_CLI_HINTS: "false" };
  }
  run(args: string[], input?: string | Buffer): Result {
    return sh("docker", args, { input, env: this.env(), timeoutMs: 180_000 });
  }
  /** The same as run, without blocking: for probes run side by side. */
  runAsync(args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn("docker", args, { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (b) => (out += b));
      child.stderr.on("data", (b) => (err += b));
      child.on("close", (code) => resolve({ code: code ?? 1, out, err }));
      child.on("error", (e) => resolve({ code: 1, out, err: String(e) }));
    });
  }
  must(args: string[], input?: string | Buffer): string {
    return must("docker", args, { input, env: this.env(), timeoutMs: 180_000 });
  }
  answers(): boolean {
    return this.run(["version", "--format", "{{.Server.Version}}"]).code === 0;
  }
}

/** Installs Debian packages that are missing (root, apt). */
export function ensurePackages(pkgs: string[], log: (s: string) => void): void {
  const missing = pkgs.filter((p) => sh("dpkg-query", ["-W", "-f=${Status}", p]).out !== "install ok installed");
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages ${missing.join(", ")}: run as root, or apt-get install -y ${missing.join(" ")}`);
  log(`installing ${missing.join(", ")} (apt-get)`);
  must("apt-get", ["update", "-qq"], { timeoutMs: 600_000 });
  must("apt-get", ["install", "-y", "-qq", ...missing], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeoutMs: 900_000 });
}

export interface Dockerd {
  docker: Docker;
  /** Pid of the dockerd this suite started, if it started one. */
  pid?: number;
  /** Root of the engine's data, exec root and socket (removed at the end when the suite started it). */
  dir: string;
}

export async function startDockerd(dir: string, log: (s: string) => void): Promise<Dockerd> {
  const socket = path.join(dir, "docker.sock");
  const docker = new Docker(socket);
  if (fs.existsSync(socket) && docker.answers()) {
    log(`using the engine already answering on ${socket}`);
    return { docker, dir };
  }
  ensurePackages(["docker.io"], log);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = fs.openSync(path.join(dir, "dockerd.log"), "a");
  const child = spawn(
    "dockerd",
    [
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
      "--storage-driver=vfs",
      "--data-root", path.join(dir, "data"),
      "--exec-root", path.join(dir, "exec"),
      "-H", `unix://${socket}`,
      "--pidfile", path.join(dir, "dockerd.pid"),
    ],
    { detached: true, stdio: ["ignore", logFile, logFile] },
  );
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error("dockerd did not start");
  log(`started dockerd (pid ${pid}) on ${socket}`);
  for (let i = 0; i < 60; i++) {
    if (docker.answers()) return { docker, pid, dir };
    if (child.exitCode !== null) break;
    await sleep(1000);
  }
  throw new Error(`dockerd does not answer on ${socket}: see ${path.join(dir, "dockerd.log")}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids of processes whose command line names the engine's directory (dockerd's containerd, shims). */
function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync("/proc").filter((x) => /^[0-9]+$/.test(x))) {
    try {
      // The directory followed by a slash: a sibling whose name starts alike (dir-other) is not ours.
      if (fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(`${dir}/`)) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids.filter((p) => p !== process.pid);
}

/** Stops the dockerd this suite started (by pid), then removes its directory. */
export async function stopDockerd(dockerd: Dockerd, log: (s: string) => void): Promise<void> {
  if (!dockerd.pid) return;
  if (alive(dockerd.pid)) {
    process.kill(dockerd.pid, "SIGTERM");
    for (let i = 0; i < 90 && alive(dockerd.pid); i++) await sleep(1000);
    if (alive(dockerd.pid)) process.kill(dockerd.pid, "SIGKILL");
  }
  // dockerd stops the containerd it started; anything it left (started by it, so by this suite) goes now.
  for (const p of processesUnder(dockerd.dir)) {
    log(`stopping leftover process ${p} of the engine`);
    process.kill(p, "SIGKILL");
  }
  const mounts = fs
    .readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && m.startsWith(dockerd.dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) sh("umount", ["-l", m]);
  fs.rmSync(dockerd.dir, { recursive: true, force: true });
  log(`stopped dockerd (pid ${dockerd.pid}) and removed ${dockerd.dir}`);
}

/** Disk used under a directory, in MiB (du, same file system). */
export function diskMiB(dir: string): number {
  const r = sh("du", ["-sxm", dir]);
  return r.code === 0 || r.out ? Number(r.out.split(/\s/)[0]) || 0 : 0;
}
