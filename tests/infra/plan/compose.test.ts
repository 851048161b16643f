import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeFor, swarmStacks } from "../../../infra/plan/compose";
import { planOk, tmpDir } from "../../helpers";

const hasDocker = spawnSync("docker", ["--version"]).status === 0;

describe("equivalent Swarm stack files", () => {
  it("render one stack per tenant plus the proxy and storage stacks, with everything external", async () => {
    const plan = await planOk({ stack: "staging" });
    expect(swarmStacks(plan)).toEqual(["kestra_acme", "kestra_globex", "kestra_initech", "platform_backup", "platform_monitoring", "platform_proxy", "platform_storage"]);
    const doc = parse(composeFor(plan, "kestra_globex"));
    expect(Object.keys(doc.services).sort()).toEqual(["backup", "executor", "gateway", "kestra", "postgres", "worker"]);
    expect(doc.services.gateway.networks).toEqual({ net_globex_private: { aliases: ["minio"] }, net_storage: null, net_monitoring: null });
    expect(doc.services.gateway).toMatchObject({ user: "65534:65534", read_only: true, cap_drop: ["ALL"] });
    const proxy = parse(composeFor(plan, "platform_proxy"));
    expect(Object.keys(proxy.services).sort()).toEqual(["socket_proxy", "traefik"]);
    expect(proxy.services.socket_proxy).toMatchObject({ user: "0:0", read_only: true, cap_drop: ["ALL"], networks: { net_proxy_docker_api: null } });
    expect(doc.services.backup.networks).toEqual({ net_globex_private: null });
    expect(doc.services.postgres.networks).toEqual({ net_globex_private: { aliases: ["postgres"] } });
    for (const group of ["networks", "volumes", "secrets", "configs"]) for (const v of Object.values(doc[group])) expect(v).toEqual({ external: true });
  });

  // docker stack config validates a stack file offline (no engine needed).
  it.skipIf(!hasDocker)("every stack of both stacks passes `docker stack config`", async () => {
    const dir = tmpDir("kf-compose-");
    for (const stack of ["staging", "prod"]) {
      const plan = await planOk({ stack });
      for (const s of swarmStacks(plan)) {
        const file = path.join(dir, `${stack}-${s}.yml`);
        fs.writeFileSync(file, composeFor(plan, s));
        const r = spawnSync("docker", ["stack", "config", "-c", file], { encoding: "utf8" });
        expect(r.status, `${s}: ${r.stderr}`).toBe(0);
      }
    }
  });
});
