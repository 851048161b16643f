import { spawn, spawnSync, type ChildProcess } from "child_process";
import { describe, expect, it } from "vitest";
import { tenantNames } from "../../../infra/model/naming";
import { PROJECT } from "../../../infra/plan/run";
import { engineUrn } from "../../../infra/plan/urn";
import { gatewayCommand, gatewayForwards, gatewayHealthcheck, needsGateway } from "../../../infra/render/gateway";
import { previousGatewayUrns } from "../../../stacks/tenant-gateway";
import { requireTool } from "../../tools";

const acme = tenantNames("acme");

describe("a tenant's gateway forwards", () => {
  it("storage only: 9000 to MinIO's service name (never the alias minio, which the gateway carries itself)", () => {
    expect(gatewayForwards(acme, { storage: true, monitoring: false })).toEqual([{ listen: 9000, host: "platform_storage_minio", port: 9000 }]);
  });
  it("monitoring only (AWS storage): 8081 and 8082 to the tenant's own backend and web management ports, 8083 to its backup's metrics", () => {
    expect(gatewayForwards(acme, { storage: false, monitoring: true })).toEqual([
      { listen: 8081, host: "kestra_acme_executor", port: 8081 },
      { listen: 8082, host: "kestra_acme_kestra", port: 8081 },
      { listen: 8083, host: "kestra_acme_backup", port: 9180 },
    ]);
  });
  it("both: four listeners, sorted by port; every target is MinIO or this tenant's own service", () => {
    const f = gatewayForwards(acme, { storage: true, monitoring: true });
    expect(f.map((x) => x.listen)).toEqual([8081, 8082, 8083, 9000]);
    for (const x of f) expect(x.host === "platform_storage_minio" || x.host.startsWith("kestra_acme_")).toBe(true);
    expect(gatewayForwards(tenantNames("acme-eu"), { storage: true, monitoring: true }).map((x) => x.host)).toEqual(["kestra_acme-eu_executor", "kestra_acme-eu_kestra", "kestra_acme-eu_backup", "platform_storage_minio"]);
  });
  it("neither: no gateway", () => {
    expect(needsGateway({ storage: false, monitoring: false })).toBe(false);
    expect(gatewayForwards(acme, { storage: false, monitoring: false })).toEqual([]);
    expect(() => gatewayCommand([])).toThrow(/without forwards/);
    for (const needs of [{ storage: true, monitoring: false }, { storage: false, monitoring: true }, { storage: true, monitoring: true }]) expect(needsGateway(needs)).toBe(true);
  });
});

describe("the gateway's command and health check", () => {
  it("one forward: socat is the process (the image's entry point), checked with the exec form", () => {
    const f = gatewayForwards(acme, { storage: true, monitoring: false });
    expect(gatewayCommand(f)).toEqual({ args: ["tcp-listen:9000,fork,reuseaddr", "tcp-connect:platform_storage_minio:9000"] });
    expect(gatewayHealthcheck(f).tests).toEqual(["CMD", "socat", "-u", "OPEN:/dev/null", "TCP:127.0.0.1:9000,connect-timeout=3"]);
  });
  it("several: one socat per forward under sh, and the check tests every listener", () => {
    const f = gatewayForwards(acme, { storage: true, monitoring: true });
    const c = gatewayCommand(f);
    expect(c.commands).toEqual(["/bin/sh", "-c"]);
    expect(c.args).toEqual([
      "socat tcp-listen:8081,fork,reuseaddr tcp-connect:kestra_acme_executor:8081 & socat tcp-listen:8082,fork,reuseaddr tcp-connect:kestra_acme_kestra:8081" +
        " & socat tcp-listen:8083,fork,reuseaddr tcp-connect:kestra_acme_backup:9180 & socat tcp-listen:9000,fork,reuseaddr tcp-connect:platform_storage_minio:9000 & wait",
    ]);
    const h = gatewayHealthcheck(f);
    expect(h.tests[0]).toBe("CMD-SHELL");
    expect(h.tests[1].split(" && ")).toEqual([8081, 8082, 8083, 9000].map((p) => `socat -u OPEN:/dev/null TCP:127.0.0.1:${p},connect-timeout=3`));
    // Both shell texts parse as POSIX sh.
    for (const text of [c.args[0], h.tests[1]]) expect(spawnSync("sh", ["-n", "-c", text]).status).toBe(0);
  });
});

describe("URN continuity", () => {
  it("the gateway's service aliases the storage gateway's and the metrics relay's services, storage gateway first", () => {
    const tenant = engineUrn("prod", PROJECT, undefined, "kestra-fleet:stacks:TenantStack", "acme-tenant");
    expect(previousGatewayUrns(tenant, "acme")).toEqual([
      "urn:pulumi:prod::kestra-fleet::kestra-fleet:stacks:TenantStack$kestra-fleet:stacks:TenantStorageGateway$docker:index/service:Service::acme-storage-gateway",
      "urn:pulumi:prod::kestra-fleet::kestra-fleet:stacks:TenantStack$kestra-fleet:stacks:TenantMetricsRelay$docker:index/service:Service::acme-metrics-relay",
    ]);
    expect(() => previousGatewayUrns("acme-tenant", "acme")).toThrow(/not a Pulumi URN/);
  });
});

describe("the gateway's command on real socat (busybox sh, as in the alpine/socat image)", () => {
  it("forwards each listener to its own target, and the health check passes only while every listener is up", async () => {
    const socat = requireTool("socat", "socat");
    const busybox = requireTool("busybox", "busybox");
    // Loopback ports of this run (the real ones are fixed above): three targets answering their name, three listeners.
    const base = 20000 + Math.floor(Math.random() * 20000);
    const targets = ["backend", "web", "minio"].map((name, i) => ({ name, port: base + i }));
    const forwards = targets.map((t, i) => ({ listen: base + 10 + i, host: "127.0.0.1", port: t.port }));
    const started: ChildProcess[] = [];
    const start = (cmd: string, args: string[]) => {
      const p = spawn(cmd, args, { detached: true, stdio: "ignore" });
      started.push(p);
      return p;
    };
    const sh = (text: string) => spawnSync(busybox, ["sh", "-c", text], { encoding: "utf8", timeout: 10_000 });
    const health = () => sh(gatewayHealthcheck(forwards).tests[1]).status;
    try {
      for (const t of targets) start(socat, [`tcp-listen:${t.port},fork,reuseaddr,bind=127.0.0.1`, `SYSTEM:echo ${t.name}`]);
      expect(health()).not.toBe(0); // no gateway yet
      const c = gatewayCommand(forwards);
      start(busybox, ["sh", "-c", c.args[0].replaceAll("socat ", `${socat} `)]);
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ok = health() === 0;
      }
      expect(ok).toBe(true);
      for (const [i, f] of forwards.entries()) {
        expect(sh(`${socat} -u TCP:127.0.0.1:${f.listen},connect-timeout=3 -`).stdout.trim()).toBe(targets[i].name);
      }
    } finally {
      for (const p of started) if (p.pid) try { process.kill(-p.pid, "SIGKILL"); } catch { /* already gone */ }
    }
  });
});
