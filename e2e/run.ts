/**
 * `npm run e2e`: deploys the program's tenant stacks on a real single-node Docker Swarm of this
 * machine and checks, from inside the containers and with docker commands, what only a real Swarm
 * shows. Needs root on Debian (installs docker.io and debootstrap when missing). See README, "End-to-end
 * suite". Ends with `N passed, M failed`; exit code 1 when anything failed.
 *
 * This file only sequences the steps; each concern has its module: ./docker (the suite's dockerd),
 * ./standins (images), ./deployment, ./storage, ./backups, ./isolation, ./monitoring.
 */
import * as fs from "fs";
import * as path from "path";
import { backupChecks } from "./backups";
import { KEEP_IMAGES, type State, WORK } from "./context";
import { deployFixture, deploymentChecks, noSecretInSpecs, rotationAndData } from "./deployment";
import { diskMiB, type Dockerd, sleep, startDockerd, stopDockerd } from "./docker";
import { isolationChecks } from "./isolation";
import { monitoringChecks, onboarding } from "./monitoring";
import { check, log, results, t0 } from "./report";
import { removeStandins } from "./standins";
import { storageChecks } from "./storage";

async function suite(dockerd: Dockerd, state: State, peak: (when: string) => void): Promise<void> {
  const s = await deployFixture(dockerd.docker, state, peak);
  if (!s) return;
  deploymentChecks(s);
  await backupChecks(s);
  peak("restore drill");
  await storageChecks(s);
  await isolationChecks(s);
  if (s.stacks.has("platform_monitoring")) await monitoringChecks(s.d, s.plan, s.stacks, s.tenantStacks);
  peak("monitoring");
  noSecretInSpecs(s);
  const rotated = await rotationAndData(s);
  if (s.stacks.has("platform_monitoring")) await onboarding(s.d, s.hostname, rotated.out, rotated.plan, state, peak);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error("npm run e2e needs root (it runs its own dockerd and installs docker.io and debootstrap when missing)");
    return 2;
  }
  log(`work directory ${WORK}`);
  const state = { stacks: [] as string[], created: [] as { kind: string; name: string }[], builtImages: false, swarmInit: false };
  let dockerd: Dockerd | undefined;
  let peakMiB = 0;
  const peak = (when: string) => {
    const mib = diskMiB(WORK);
    peakMiB = Math.max(peakMiB, mib);
    log(`disk under ${WORK}: ${mib} MiB (${when})`);
  };
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    if (!dockerd) return;
    const d = dockerd.docker;
    peak("before clean-up");
    for (const s of [...state.stacks].reverse()) d.run(["stack", "rm", s]);
    for (let i = 0; i < 60 && d.run(["ps", "-aq", "--filter", "label=com.docker.stack.namespace"]).out.trim(); i++) await sleep(2000);
    if (dockerd.pid) {
      await stopDockerd(dockerd, log);
      return;
    }
    // Someone else's engine: remove exactly what this run created.
    await sleep(3000);
    const order = ["secret", "config", "network", "volume"];
    for (const kind of order) for (const o of state.created.filter((x) => x.kind === kind)) d.run([kind, "rm", o.name]);
    if (state.builtImages && !KEEP_IMAGES) removeStandins(d);
    if (state.swarmInit) d.run(["swarm", "leave", "--force"]);
    for (const dir of ["project", "project2", "project3", "out1", "out2", "out3", "stacks"]) fs.rmSync(path.join(WORK, dir), { recursive: true, force: true });
    log("removed this run's stacks and objects");
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      console.log(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    dockerd = await startDockerd(WORK, log);
    await suite(dockerd, state, peak);
  } catch (e) {
    check("suite ran to the end", false, (e as Error).message);
  } finally {
    try {
      await cleanup();
    } catch (e) {
      check("clean-up", false, (e as Error).message);
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  const secs = Math.round((Date.now() - t0) / 1000);
  console.log(`\ntook ${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, "0")}s; disk peak ${peakMiB} MiB under ${WORK}`);
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
});
