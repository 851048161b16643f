/** Postgres container details that depend on the pinned image. Pure. */
import { imageParts } from "../model/images";

/**
 * Where the data volume is mounted. Postgres 18+ images keep data under
 * /var/lib/postgresql/<major>/docker and expect the volume at /var/lib/postgresql; older ones
 * use /var/lib/postgresql/data.
 */
export function postgresDataTarget(image: string): string {
  return (postgresMajor(image) ?? 18) >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
}

/**
 * Major version of a Postgres image from its tag (`postgres:18.1-bookworm` -> 18), undefined when the
 * tag does not start with one (or the reference has no tag). The single source: the data volume's
 * identity, the mount target, the plan diff and the deploy guard all read it here.
 */
export function postgresMajor(image: unknown): number | undefined {
  if (typeof image !== "string") return undefined;
  const tag = imageParts(image)?.tag;
  const m = tag ? /^([0-9]+)/.exec(tag) : null;
  return m ? Number(m[1]) : undefined;
}

/** A crash recovery whose startup process shows the same state this long is stuck: the check then fails. */
export const POSTGRES_RECOVERY_STALL_SECONDS = 900;
/** Where the health check remembers the recovery state it saw last, and since when (inside the container). */
export const POSTGRES_HEALTH_STATE_FILE = "/tmp/kestra-fleet-pg-health";

/**
 * The Postgres health check, a POSIX sh script (run by Docker as CMD-SHELL inside the container).
 * - `pg_isready -h 127.0.0.1` answers 0 (accepting connections): healthy.
 * - 1 ("rejecting connections": startup, crash recovery, shutdown): healthy only while the postmaster
 *   is in startup or recovery (`postmaster.pid` line 8 is `starting`, or `standby` for an archive
 *   recovery with hot_standby off; `stopping` is not) and the startup process's
 *   title (`postgres: startup recovering <WAL segment>`, read from /proc) keeps changing: a recovery
 *   that shows the same state for `stallSeconds` is stuck, and the check fails.
 * - 2 (no response: the server is down, or only on its socket during the image's first initdb) or
 *   3 (no attempt): unhealthy.
 * So a slow recovery after a node crash is never killed by Swarm for being slow, and a postmaster that
 * is down, shutting down or stuck still fails the check. Each answer says why (Docker's health log).
 */
export function postgresHealthScript(user: string, database: string, stallSeconds = POSTGRES_RECOVERY_STALL_SECONDS, stateFile = POSTGRES_HEALTH_STATE_FILE): string {
  for (const [what, v] of [["user", user], ["database", database], ["state file", stateFile]] as const) {
    if (!/^[A-Za-z0-9_./-]+$/.test(v)) throw new Error(`postgresHealthScript: ${what} ${JSON.stringify(v)} has characters the script does not quote`);
  }
  if (!Number.isInteger(stallSeconds) || stallSeconds < 1) throw new Error(`postgresHealthScript: stallSeconds ${stallSeconds} is not a positive integer`);
  return [
    `pg_isready -q -h 127.0.0.1 -U '${user}' -d '${database}'`,
    "rc=$?",
    'if [ "$rc" -eq 0 ]; then exit 0; fi',
    'if [ "$rc" -ne 1 ]; then echo "unhealthy: pg_isready answered $rc (2: no response, 3: no attempt)"; exit 1; fi',
    'status=$(sed -n 8p "${PGDATA:-/var/lib/postgresql/data}/postmaster.pid" 2>/dev/null | tr -d " ")',
    'case "$status" in starting | standby) ;; *) echo "unhealthy: rejecting connections, postmaster status \'$status\'"; exit 1 ;; esac',
    "title=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' '\\n' | grep -m 1 -E '^postgres: (.+: )?startup( |$)')",
    'state=${title:-postmaster starting}',
    "now=$(date +%s)",
    `if [ -f ${stateFile} ] && [ "$(sed -n 2p ${stateFile})" = "$state" ]; then since=$(sed -n 1p ${stateFile}); else since=$now; printf '%s\\n%s\\n' "$now" "$state" > ${stateFile}; fi`,
    `if [ $((now - since)) -ge ${stallSeconds} ]; then echo "unhealthy: recovery has not moved for $((now - since)) s: $state"; exit 1; fi`,
    'echo "recovering: $state (unchanged for $((now - since)) s)"',
    "exit 0",
  ].join("\n");
}

export function postgresHealthcheck(user: string, database: string) {
  return {
    // -h 127.0.0.1 in the script: without it pg_isready answers through the socket during initdb and passes too early.
    tests: ["CMD-SHELL", postgresHealthScript(user, database)],
    interval: "10s",
    timeout: "5s",
    retries: 6,
    // The first start's initdb (socket only: pg_isready answers 2) fits in here; a crash recovery does
    // not need to: the script reports it healthy while it moves.
    startPeriod: "120s",
  };
}
