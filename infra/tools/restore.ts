/**
 * The restore procedure of one tenant's database, as the exact ordered shell steps for that
 * tenant's real service, secret, volume and bucket names. Pure: `npm run restore` prints it, the
 * tests check it, the restore drill runs its flags and its emptiness check on a real PostgreSQL.
 */
import type { Settings } from "../input/config/schema";
import { backupPrefixes, EMPTY_CHECK_SQL, ESCROW_DECRYPT_COMMAND, escrowKey, PG_RESTORE_ARGS } from "../render/backup";
import { tenantNames } from "../model/naming";
import type { Tenant } from "../input/tenants/schema";

export interface RestoreStep {
  title: string;
  /** Shell commands, run in order; a failing command stops the procedure. */
  commands: string[];
}

/** The environment variable naming the file that holds the stack secret backupEscrowPassphrase. */
export const ESCROW_PASSPHRASE_VAR = "KF_ESCROW_PASSPHRASE_FILE";

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The ordered procedure. `dump` is a file name under `<stack>/postgres/<t>/` (default: the newest). */
export function restoreProcedure(args: { stack: string; tenant: Tenant; settings: Settings; dump?: string }): RestoreStep[] {
  const { tenant, settings, stack } = args;
  const n = tenantNames(tenant.name);
  const bucket = settings.backup.target.bucket;
  const prefix = backupPrefixes(stack, tenant.name).postgres;
  const kestra = tenant.status === "offboarded" ? [] : [n.services.web, n.services.backend, ...(tenant.kestra.workers > 0 ? [n.services.worker] : [])];
  const running = tenant.status === "active";
  const replicas: Record<string, number> = { [n.services.web]: 1, [n.services.backend]: 1, [n.services.worker]: tenant.kestra.workers };
  const manager = `DOCKER_HOST=${q(settings.swarm.dockerHost)}`;
  const steps: RestoreStep[] = [];
  const restoreFlags = PG_RESTORE_ARGS.join(" ");

  steps.push({
    title: `Point mc at the backup bucket (alias kf-backup, credentials of a key that can read ${prefix}: the target's admin)`,
    commands: [`mc ls kf-backup/${bucket}/${prefix} | tail -n 5`],
  });
  const dumpFile = args.dump ?? "$(mc ls --json kf-backup/" + bucket + "/" + prefix + " | sed -n 's/.*\"key\":\"\\([^\"]*\\.pgdump\\)\".*/\\1/p' | sort | tail -n 1)";
  steps.push({
    title: args.dump ? `Fetch the dump ${args.dump}` : "Fetch the newest dump (names sort by UTC time)",
    commands: [`DUMP=${args.dump ? q(args.dump) : dumpFile}`, `test -n "$DUMP"`, `mc cp "kf-backup/${bucket}/${prefix}$DUMP" "./$DUMP"`, `pg_restore --list "./$DUMP" > /dev/null`],
  });
  steps.push({
    title: `Stop the tenant's Kestra services and its backup service (stack ${stack})`,
    commands: [`${manager} docker service scale --detach=false ${[...kestra, n.services.backup].map((s) => `${s}=0`).join(" ")}`],
  });

  let psql: string;
  let restore: string;
  if (tenant.postgres.mode === "container") {
    const node = tenant.postgres.node ?? settings.swarm.dataNode;
    const nodeHost = `DOCKER_HOST=${q(settings.swarm.nodes[node])}`;
    steps.push({
      title: `Find the Postgres container on ${node} (service ${n.services.postgres}, volume ${n.pgVolume})`,
      commands: [`PG=$(${nodeHost} docker ps -q --filter label=com.docker.swarm.service.name=${n.services.postgres})`, `test -n "$PG"`],
    });
    psql = `${nodeHost} docker exec -i "$PG" psql -X -v ON_ERROR_STOP=1 -U ${n.dbUser} -d ${n.database}`;
    restore = `${nodeHost} docker exec -i "$PG" pg_restore ${restoreFlags} -U ${n.dbUser} -d ${n.database} < "./$DUMP"`;
    steps.push({
      title: "Only when the database is not empty (keeps the old data): rename it aside and create an empty one",
      commands: [
        `# ${nodeHost} docker exec -i "$PG" psql -X -v ON_ERROR_STOP=1 -U ${n.dbUser} -d postgres -c 'ALTER DATABASE ${n.database} RENAME TO ${n.database}_before_restore' -c 'CREATE DATABASE ${n.database} OWNER ${n.dbUser}'`,
      ],
    });
  } else {
    const m = settings.managedPostgres!;
    const conn = `host=${m.host} port=${m.port} dbname=${n.database} user=${n.dbUser} sslmode=${m.sslmode}`;
    steps.push({
      title: `Managed server ${m.host}: the tenant role's password is dbPassword in the escrow (${escrowKey(stack, tenant.name)})`,
      commands: [
        `mc cp "kf-backup/${bucket}/${escrowKey(stack, tenant.name)}" ./credentials.json.enc`,
        // Plain assignments: their status is the command's, so set -e stops on a wrong passphrase or
        // a damaged object (`export X="$(…)"` would hide it and go on with an empty password).
        `ESCROW=$(${ESCROW_DECRYPT_COMMAND.replace("PASSPHRASE_FILE", `"\${${ESCROW_PASSPHRASE_VAR}:?set ${ESCROW_PASSPHRASE_VAR} to a file holding the stack secret backupEscrowPassphrase}"`)})`,
        `PGPASSWORD=$(printf '%s\\n' "$ESCROW" | sed -n 's/^ *"dbPassword": "\\([^"]*\\)",\\{0,1\\}$/\\1/p')`,
        "unset ESCROW",
        `test -n "$PGPASSWORD" || { echo "the escrow holds no dbPassword: refusing to go on without the role's password"; exit 1; }`,
        "export PGPASSWORD",
      ],
    });
    psql = `psql -X -v ON_ERROR_STOP=1 ${q(conn)}`;
    restore = `pg_restore ${restoreFlags} -d ${q(conn)} "./$DUMP"`;
    steps.push({
      title: "Only when the database is not empty (keeps the old data): as the server's admin, rename it aside and create an empty one",
      commands: [`# psql -X -h ${m.host} -p ${m.port} -U ${m.username} -d ${m.database} -c 'ALTER DATABASE ${n.database} RENAME TO ${n.database}_before_restore' -c 'CREATE DATABASE ${n.database} OWNER ${n.dbUser}'`],
    });
  }

  steps.push({
    title: "Refuse a non-empty database: this check stops the procedure unless it has no table",
    commands: [`TABLES=$(${psql} -tA -c ${q(EMPTY_CHECK_SQL)})`, `test "$TABLES" = 0 || { echo "database ${n.database} has $TABLES tables: refusing to restore into it (see the previous step)"; exit 1; }`],
  });
  steps.push({ title: `Restore ${n.database} from the dump (one transaction: all or nothing)`, commands: [restore] });
  steps.push({
    title: "Check: the dump's tables are there and Kestra's tables have rows",
    commands: [
      `test "$(${psql} -tA -c ${q(EMPTY_CHECK_SQL)})" -gt 0`,
      `${psql} -tA -c 'SELECT count(*) FROM flows' -c 'SELECT count(*) FROM executions'`,
      `${psql} -c 'ANALYZE'`,
    ],
  });
  steps.push({
    title: running ? "Scale the services back" : `Scale the backup service back (the tenant is ${tenant.status}: Kestra stays at 0)`,
    commands: [
      `${manager} docker service scale --detach=false ${(running ? [...kestra.map((s) => `${s}=${replicas[s]}`)] : []).concat(`${n.services.backup}=1`).join(" ")}`,
      ...(running ? [`${manager} docker service ls --filter label=com.docker.stack.namespace=${n.stack}`] : []),
    ],
  });
  return steps;
}

export function formatProcedure(steps: RestoreStep[], header: string): string {
  // bash: pipefail makes a pipeline fail with its first failing command (`mc ls … | sed | sort`), which
  // POSIX sh's `set -e` alone ignores.
  const lines = ["#!/usr/bin/env bash", `# ${header}`, "# Run it with bash (saved to a file, or piped: bash -s); it stops at the first failing command.", "set -euo pipefail", ""];
  steps.forEach((s, i) => {
    lines.push(`# ${i + 1}. ${s.title}`);
    lines.push(...s.commands, "");
  });
  return lines.join("\n");
}
