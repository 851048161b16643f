/**
 * Isolation between tenants, probed from inside every container: no tenant's container resolves or
 * connects to another tenant's Postgres or services (peers of one role on a shared platform network
 * excepted, by design), and no Postgres is reachable from the public network.
 */
import { MONITORING_NETWORK, PUBLIC_NETWORK, RELAY_BACKEND_PORT, RELAY_WEB_PORT, STORAGE_NETWORK } from "../infra/model/naming";
import type { Suite } from "./context";
import { check } from "./report";
import { addresses, containersOf, probe, type Svc } from "./swarm";

/** Ports a role's stand-in listens on (what a neighbour could try to reach). */
const PORTS: Record<string, number[]> = { postgres: [5432], web: [8080, 8081], backend: [8080, 8081], worker: [8080, 8081], gateway: [9000, RELAY_BACKEND_PORT, RELAY_WEB_PORT], storage: [9000] };

/** Platform networks several tenants' services share (see the isolation check). */
export const SHARED = [PUBLIC_NETWORK, STORAGE_NETWORK, MONITORING_NETWORK];

export async function isolationChecks(s: Suite): Promise<void> {
  const { d, stacks, tenantStacks } = s;
  // Isolation between tenants.
  for (const a of tenantStacks) {
    for (const b of tenantStacks.filter((x) => x !== a)) {
      const bSvcs = stacks.get(b)!;
      const bContainers = bSvcs.flatMap((s) => containersOf(d, s.name).map((id) => ({ s, ip: addresses(d, id) })));
      const problems: string[] = [];
      const exempt: string[] = [];
      const probes: Promise<void>[] = [];
      for (const as of stacks.get(a)!) {
        for (const ac of containersOf(d, as.name)) {
          const aNets = Object.keys(addresses(d, ac));
          // Peers of one role on a shared platform network see each other there by design: the webs on
          // the public network Traefik routes through, the gateways on net_storage and on
          // net_monitoring. Only there.
          const peerNet = (bs: Svc, net: string) => bs.role === as.role && SHARED.includes(net) && aNets.includes(net);
          const names: string[] = [];
          const targets: string[] = [];
          for (const bs of bSvcs) {
            const shared = SHARED.find((net) => peerNet(bs, net));
            if (shared) exempt.push(`${as.name} -> ${bs.name} on ${shared}`);
            else names.push(bs.name);
          }
          for (const { s: bs, ip } of bContainers) {
            for (const [net, addr] of Object.entries(ip)) {
              if (peerNet(bs, net)) continue;
              for (const port of PORTS[bs.role] ?? []) targets.push(`${addr}:${port}`);
            }
          }
          const control = as.role === "postgres" ? { name: as.name } : { name: "postgres", target: "postgres:5432" };
          probes.push(
            probe(d, ac, names, targets, control).then((p) => {
              if (!p.controlOk) problems.push(`${as.name}: control probe failed (cannot reach its own Postgres), results meaningless`);
              problems.push(...p.reached.map((l) => `${as.name} ${l}`));
            }),
          );
        }
      }
      await Promise.all(probes);
      check(`${a}'s containers neither resolve nor connect to ${b}'s Postgres or services`, !problems.length, [problems.join("; "), exempt.length ? `exempt: ${[...new Set(exempt)].join(", ")}` : ""].filter(Boolean).join("; "));
    }
  }

  // No Postgres reachable from the public network.
  const pgs = tenantStacks.map((s) => stacks.get(s)!.find((x) => x.role === "postgres")!).filter(Boolean);
  const pgTargets = pgs.flatMap((s) => containersOf(d, s.name).flatMap((id) => Object.values(addresses(d, id)).map((ip) => `${ip}:5432`)));
  const web = stacks.get(tenantStacks[0])!.find((x) => x.role === "web")!;
  const pub = await probe(d, { network: PUBLIC_NETWORK, image: "kestra-fleet-e2e/kestra:standin" }, ["postgres", ...pgs.map((s) => s.name)], pgTargets, { name: web.name, target: `${web.name}:8080` });
  check(`no Postgres is reachable from ${PUBLIC_NETWORK} (${pgTargets.length} addresses, ${pgs.length + 1} names)`, pub.controlOk && !pub.reached.length, pub.controlOk ? pub.reached.join("; ") : "control probe (a web service on that network) failed");
}
