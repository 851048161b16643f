/**
 * `npm run restore -- --stack <stack> --tenant <tenant> [--dump <name>] [--tenants DIR] [--root DIR]`:
 * prints the ordered restore procedure of the tenant's database (infra/tools/restore.ts) for the stack's
 * real names. Reads the stack file and the tenant files like the offline plan; touches nothing.
 */
import * as path from "path";
import { parseArgs } from "util";
import { configFromStackFile } from "../input/config/load";
import { formatDiagnostic, sortDiagnostics } from "../input/diagnostics";
import { loadInputs } from "../input/inputs";
import { parseDumpName } from "../render/backup";
import { formatProcedure, restoreProcedure } from "./restore";
import { stacksIn } from "../input/tenants/load";

const USAGE = "usage: npm run restore -- --stack <stack> --tenant <tenant> [--dump <tenant>-YYYYMMDDTHHMMSSZ.pgdump] [--tenants DIR] [--root DIR]";

export function restoreMain(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  let args: Record<string, string | undefined>;
  try {
    args = parseArgs({ args: argv, options: { stack: { type: "string" }, tenant: { type: "string" }, dump: { type: "string" }, tenants: { type: "string" }, root: { type: "string" } }, strict: true }).values;
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!args.stack || !args.tenant) {
    err(`${USAGE}\n`);
    return 2;
  }
  if (args.dump) {
    const parsed = parseDumpName(args.dump);
    if (!parsed || parsed.tenant !== args.tenant || args.dump.includes("/")) {
      err(`--dump ${JSON.stringify(args.dump)} is not a dump of ${args.tenant}: expected a file name such as ${args.tenant}-20261123T060000Z.pgdump\n`);
      return 2;
    }
  }
  const root = path.resolve(args.root ?? path.join(__dirname, "..", ".."));
  const tenantsDir = path.resolve(args.tenants ?? path.join(root, "tenants"));
  const loaded = loadInputs({ stack: args.stack, stacks: stacksIn(root), config: configFromStackFile(root, args.stack), tenantsDir, tenantsDisplay: args.tenants });
  if (!loaded.ok) {
    for (const d of sortDiagnostics(loaded.errors)) err(`${formatDiagnostic(d)}\n`);
    return 1;
  }
  const tenant = loaded.inputs.tenants.find((t) => t.name === args.tenant);
  if (!tenant) {
    err(`no tenant ${args.tenant} is deployed to stack ${args.stack} (tenant files in ${tenantsDir})\n`);
    return 1;
  }
  const steps = restoreProcedure({ stack: args.stack, tenant, settings: loaded.inputs.settings, dump: args.dump });
  out(formatProcedure(steps, `Restore of tenant ${tenant.name}'s database on stack ${args.stack}`) + "\n");
  return 0;
}

if (require.main === module) process.exitCode = restoreMain(process.argv.slice(2));
