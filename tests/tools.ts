/**
 * Debian tools the tests need. A missing tool is installed with apt-get when the tests run as root;
 * otherwise (or if that fails) the test fails with the command to run. Never a silent skip.
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { debianMirror } from "./debian-mirror";

function has(bin: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

/** The path of `bin`, installing Debian package `pkg` when it is missing. */
export function requireTool(bin: string, pkg: string): string {
  const install = `apt-get update && apt-get install -y --no-install-recommends ${pkg}`;
  if (!has(bin) && process.getuid?.() === 0) {
    spawnSync("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${install}`], { stdio: "ignore", timeout: 300_000 });
  }
  if (!has(bin)) throw new Error(`${bin} is missing: install it with \`${install}\` (as root)`);
  return execFileSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" }).trim();
}

/** A binary from a Debian package pinned by version and SHA-256 (a newer suite than the machine's). */
export interface PinnedDeb {
  /** The binary's path inside the package, e.g. `usr/bin/amtool`. */
  bin: string;
  /** Pool path under the Debian mirror (this machine's apt sources: tests/debian-mirror.ts), e.g. `pool/main/p/…/x_1.0_amd64.deb`. */
  pool: string;
  sha256: string;
}

const DEB_CACHE = path.join(__dirname, "..", "node_modules", ".cache", "kestra-fleet-debs");

/**
 * The path of a binary extracted from a pinned Debian package: downloaded once (curl, checked against
 * its SHA-256) and unpacked with `dpkg-deb -x` under node_modules/.cache. Used where the machine's
 * suite ships an older version than the image the program deploys (amtool: bookworm has 0.25, the
 * image is 0.28.1, and so is trixie's package). Fails with the commands to run by hand.
 */
export function requirePinnedDeb(deb: PinnedDeb): string {
  const dir = path.join(DEB_CACHE, deb.sha256.slice(0, 16));
  const bin = path.join(dir, deb.bin);
  if (fs.existsSync(bin)) return bin;
  const file = path.join(DEB_CACHE, path.basename(deb.pool));
  // The mirror apt uses here; none configured is an error saying so (never a host written in the code).
  const url = `${debianMirror()}/${deb.pool}`;
  const manual = `curl -fsSo ${file} ${url} && echo '${deb.sha256}  ${file}' | sha256sum -c && dpkg-deb -x ${file} ${dir}`;
  try {
    requireTool("curl", "curl");
    fs.mkdirSync(DEB_CACHE, { recursive: true });
    execFileSync("curl", ["-fsS", "--retry", "3", "-m", "300", "-o", file, url], { stdio: "ignore" });
    const sum = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    if (sum !== deb.sha256) throw new Error(`${file}: SHA-256 ${sum}, expected ${deb.sha256}`);
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    execFileSync("dpkg-deb", ["-x", file, tmp], { stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    fs.rmSync(file, { force: true });
  } catch (e) {
    throw new Error(`${deb.bin} from ${deb.pool} is missing (${(e as Error).message}): fetch it with \`${manual}\``);
  }
  if (!fs.existsSync(bin)) throw new Error(`${deb.pool} has no ${deb.bin}: fetch it with \`${manual}\``);
  return bin;
}

/** amtool of Alertmanager 0.28.1, the version of `images.alertmanager` (Debian trixie's package). */
export const AMTOOL_0_28: PinnedDeb = {
  bin: "usr/bin/amtool",
  pool: "pool/main/p/prometheus-alertmanager/prometheus-alertmanager_0.28.1+ds-1_amd64.deb",
  sha256: "76ee08c2bf686fa32ca243d099b6bfc6cb00074e9337c18ef73154b60c5830a9",
};
