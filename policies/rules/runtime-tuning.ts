import { containerSpecOf, display, durationSeconds, isService, roleOf, type ResourceRule } from "../model";

const KESTRA_ROLES = ["web", "backend", "worker"];
/** Kestra waits up to 5 minutes for running tasks; Postgres needs time to checkpoint. */
const MIN_GRACE: Record<string, number> = { postgres: 60, web: 300, backend: 300, worker: 300 };

/**
 * Added rule (advisory): Swarm's defaults do not suit the stateful services. Postgres gets a sized
 * tmpfs at /dev/shm (Swarm has no shm_size; Docker's 64 MiB breaks parallel queries); stop grace
 * periods cover Postgres's shutdown (>= 60 s) and Kestra's termination grace (>= 5 min) instead of 10 s.
 */
export const runtimeTuning: ResourceRule = {
  kind: "resource",
  name: "runtime-tuning",
  description: "Postgres has a /dev/shm tmpfs; stop grace periods are at least 60 s for Postgres and 5 min for Kestra services.",
  level: "advisory",
  check(r, report) {
    if (!isService(r)) return;
    const role = roleOf(r) ?? "";
    const c = containerSpecOf(r);
    if (role === "postgres" && !(c.mounts ?? []).some((m: any) => m?.type === "tmpfs" && m?.target === "/dev/shm")) {
      report(`${display(r)} has no tmpfs at /dev/shm: Docker's 64 MiB default breaks parallel queries; add { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes } }`);
    }
    if (role === "postgres" || KESTRA_ROLES.includes(role)) {
      const grace = durationSeconds(c.stopGracePeriod);
      if (grace === undefined || grace < MIN_GRACE[role]) {
        report(`${display(r)} has stop grace period ${c.stopGracePeriod ?? "10s (default)"}: set taskSpec.containerSpec.stopGracePeriod to at least ${MIN_GRACE[role] >= 300 ? `${MIN_GRACE[role] / 60}m` : `${MIN_GRACE[role]}s`}`);
      }
    }
  },
};
