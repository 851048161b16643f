import type * as docker from "@pulumi/docker";
import { describe, expect, it } from "vitest";
import { configFromStackFile, loadConfig } from "../../infra/input/config/load";
import { loadTenants } from "../../infra/input/tenants/load";
import { tenantNames } from "../../infra/model/naming";
import { PROFILES } from "../../infra/model/profiles";
import { ENTRYPOINT_PATH } from "../../infra/render/entrypoint";
import { FLOW_MOUNT } from "../../infra/render/flow";
import { kestraServiceArgs, postgresServiceArgs, type KestraCommon, type KestraServiceSpec } from "../../stacks/tenant-parts";
import { FIXTURE_ROOT, FIXTURE_TENANTS } from "../helpers";

// The service specs are pure: they only read a secret's or config's id and name.
const fake = <T>(name: string) => ({ id: `id-${name}`, name }) as unknown as T;

const { config } = loadConfig(configFromStackFile(FIXTURE_ROOT, "staging"));
const settings = config!.settings;
const tenant = loadTenants(FIXTURE_TENANTS, { stacks: ["staging", "prod"] }).tenants.find((t) => t.tenant.name === "acme")!.tenant;
const names = tenantNames(tenant.name);
const profile = PROFILES[tenant.kestra.size];

describe("postgresServiceArgs", () => {
  const args = postgresServiceArgs({ names, tenant, settings, profile, node: "swarm-node-1", pgSecret: fake<docker.Secret>("pg"), privateNetworkId: "net-private" }) as any;

  it("pins the task to the volume's node and never runs two postmasters on it", () => {
    expect(args.name).toBe(names.services.postgres);
    expect(args.taskSpec.placement).toEqual({ constraints: ["node.hostname == swarm-node-1"] });
    expect(args.updateConfig.order).toBe("stop-first");
    expect(args.rollbackConfig.order).toBe("stop-first");
    expect(args.taskSpec.containerSpec.mounts[0]).toMatchObject({ type: "volume", source: names.pgVolume });
  });

  it("reads its password from the Swarm secret file, on the private network only", () => {
    expect(args.taskSpec.containerSpec.env.POSTGRES_PASSWORD_FILE).toBe("/run/secrets/postgres_password");
    expect(args.taskSpec.containerSpec.secrets).toEqual([{ secretId: "id-pg", secretName: "pg", fileName: "/run/secrets/postgres_password", fileMode: 0o444 }]);
    expect(args.taskSpec.networksAdvanceds).toEqual([{ id: "net-private", aliases: ["postgres"] }]);
  });
});

describe("kestraServiceArgs", () => {
  const common = (over: Partial<KestraCommon> = {}): KestraCommon => ({
    tenant,
    settings,
    names,
    runs: true,
    secrets: { config: fake<docker.Secret>("config"), flow: fake<docker.ServiceConfig>("flow"), gitSecrets: [], taskEnv: {} },
    entrypoint: fake<docker.ServiceConfig>("entrypoint"),
    monitored: false,
    ...over,
  });
  const spec: KestraServiceSpec = { args: ["server", "worker"], res: profile.worker, replicas: 3, networks: [{ id: "net-private" }], order: "start-first" };

  it("a suspended tenant's service keeps its spec at 0 replicas", () => {
    expect((kestraServiceArgs(common(), "worker", spec) as any).mode).toEqual({ replicated: { replicas: 3 } });
    expect((kestraServiceArgs(common({ runs: false }), "worker", spec) as any).mode).toEqual({ replicated: { replicas: 0 } });
  });

  it("mounts the git-sync flow only where asked, the netrc only with monitoring", () => {
    const fileNames = (a: docker.ServiceArgs, key: "configs" | "secrets") => ((a as any).taskSpec.containerSpec[key] as { fileName: string }[]).map((c) => c.fileName);
    expect(fileNames(kestraServiceArgs(common(), "worker", spec), "configs")).toEqual([ENTRYPOINT_PATH]);
    expect(fileNames(kestraServiceArgs(common(), "backend", { ...spec, flow: true }), "configs")).toEqual([ENTRYPOINT_PATH, FLOW_MOUNT]);
    expect(fileNames(kestraServiceArgs(common(), "web", spec), "secrets")).toEqual(["/run/secrets/kestra_application.yml"]);
    const monitored = common({ monitored: true, secrets: { ...common().secrets, netrc: fake<docker.Secret>("netrc") } });
    expect(fileNames(kestraServiceArgs(monitored, "web", spec), "secrets")).toHaveLength(2);
  });

  it("names each role's Docker service", () => {
    expect((kestraServiceArgs(common(), "web", spec) as any).name).toBe(names.services.web);
    expect((kestraServiceArgs(common(), "backend", spec) as any).name).toBe(names.services.backend);
    expect((kestraServiceArgs(common(), "worker", spec) as any).name).toBe(names.services.worker);
  });
});
