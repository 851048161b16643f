/**
 * Storage: each tenant's Kestra reaches object storage (`minio`) only through the path the program
 * declares (the tenant's storage gateway when it has one), and no Kestra container is on the shared
 * storage network.
 */
import { MINIO_ALIAS, STORAGE_NETWORK } from "../infra/naming";
import type { Suite } from "./context";
import { check } from "./report";
import { addresses, containersOf } from "./swarm";

export function storageChecks(s: Suite): void {
  const { d, stacks, tenantStacks } = s;
  for (const t of tenantStacks) {
    const svcs = stacks.get(t)!;
    const via = svcs.find((x) => x.role === "gateway") ?? stacks.get("platform_storage")?.find((x) => x.role === "storage");
    const viaIps = via ? containersOf(d, via.name).flatMap((id) => Object.values(addresses(d, id))) : [];
    const problems: string[] = [];
    for (const k of svcs.filter((x) => ["web", "backend", "worker"].includes(x.role))) {
      for (const kc of containersOf(d, k.name)) {
        if (via?.role === "gateway" && Object.keys(addresses(d, kc)).includes(STORAGE_NETWORK)) problems.push(`${k.name} is on ${STORAGE_NETWORK}`);
        const ip = d.run(["exec", kc, "getent", "hosts", MINIO_ALIAS]).out.trim().split(/\s+/)[0];
        if (!ip || !viaIps.includes(ip)) problems.push(`${k.name}: ${MINIO_ALIAS} resolves to ${ip || "nothing"}, not ${via?.name ?? "a storage service"}`);
        const answer = d.run(["exec", kc, "curl", "-fsS", "--max-time", "5", `http://${MINIO_ALIAS}:9000/`]);
        if (!answer.out.includes("storage stand-in")) problems.push(`${k.name}: no answer from the storage stand-in through ${MINIO_ALIAS}:9000 (${answer.err.trim()})`);
      }
    }
    check(`${svcs[0].tenant}: Kestra reaches storage (${MINIO_ALIAS}:9000, answered) only through ${via?.name ?? "nothing"}`, !!via && !problems.length, problems.join("; "));
  }
}
