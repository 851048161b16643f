/**
 * TenantGateway: the one door between a tenant and the platform's shared networks. One small TCP
 * forwarder service (alpine/socat, pinned by tag and digest in `images.storageGateway`; no code of
 * ours) whose listeners each forward to one fixed address (infra/render/gateway.ts):
 * - with MinIO storage, 9000 -> MinIO's S3 port: on the tenant's private network it carries the alias
 *   `minio` that the tenant's Kestra config names, and it is on the shared storage network;
 * - with monitoring, 8081/8082 -> the tenant's own backend's and web server's management ports: it is
 *   on the monitoring network, where Prometheus discovers it by its labels and scrapes it.
 * The tenant's Kestra services are on no shared network but the public one (web only). Adding a
 * tenant adds a gateway and changes nothing shared. With AWS storage and monitoring off there is none.
 * It replaces the storage gateway and the metrics relay (two components, two services) of earlier
 * versions: the service aliases their URNs.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../infra/input/config/schema";
import { LABEL_STATUS, MINIO_ALIAS, type TenantNames } from "../infra/model/naming";
import type { TenantStatus } from "../infra/input/tenants/schema";
import { engineUrn } from "../infra/plan/urn";
import { PLATFORM_RESOURCES, swarmResources } from "../infra/model/profiles";
import { gatewayCommand, gatewayForwards, gatewayHealthcheck } from "../infra/render/gateway";
import { identityLabels } from "../infra/render/labels";
import { forwarderServiceArgs } from "./swarm";
import { placementSpec, tenantServiceConstraints } from "../infra/model/placement";

export interface TenantGatewayArgs {
  names: TenantNames;
  settings: Settings;
  manager: docker.Provider;
  privateNetworkId: pulumi.Input<string>;
  /** The shared storage network (MinIO storage only): the gateway forwards 9000 to MinIO. */
  storageNetworkId?: pulumi.Input<string>;
  /** The monitoring network (monitoring on only): the gateway forwards 8081/8082 to the tenant's Kestra. */
  monitoringNetworkId?: pulumi.Input<string>;
  /**
   * The tenant's lifecycle status, a service label Prometheus relabels by (`status`): the Kestra jobs
   * drop suspended and offboarded tenants. Offboarded: no Kestra forwards (there is no Kestra).
   */
  status: TenantStatus;
}

const SERVICE_TYPE = "docker:index/service:Service";

/**
 * URNs of the services this gateway replaces, under the tenant's component `tenantUrn`: the storage
 * gateway's (first: with both, Pulumi takes it over and deletes the relay) and the metrics relay's.
 */
export function previousGatewayUrns(tenantUrn: string, logical: string): string[] {
  const [, stack, project] = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(tenantUrn) ?? [];
  if (!stack || !project) throw new Error(`not a Pulumi URN: ${tenantUrn}`);
  const under = (componentType: string, componentName: string, serviceName: string) =>
    engineUrn(stack, project, engineUrn(stack, project, tenantUrn, componentType, componentName), SERVICE_TYPE, serviceName);
  return [
    under("kestra-fleet:stacks:TenantStorageGateway", `${logical}-gateway`, `${logical}-storage-gateway`),
    under("kestra-fleet:stacks:TenantMetricsRelay", `${logical}-metrics`, `${logical}-metrics-relay`),
  ];
}

export class TenantGateway extends pulumi.ComponentResource {
  readonly service: docker.Service;

  constructor(name: string, args: TenantGatewayArgs, opts: pulumi.ComponentResourceOptions & { parent: pulumi.Resource }) {
    super("kestra-fleet:stacks:TenantGateway", name, {}, opts);
    const n = args.names;
    const storage = args.storageNetworkId !== undefined;
    const monitoring = args.monitoringNetworkId !== undefined;
    const forwards = gatewayForwards(n, { storage, monitoring, kestra: args.status !== "offboarded" });
    const networks: docker.types.input.ServiceTaskSpecNetworksAdvanced[] = [
      { id: args.privateNetworkId, ...(storage ? { aliases: [MINIO_ALIAS] } : {}) },
      ...(storage ? [{ id: args.storageNetworkId! }] : []),
      ...(monitoring ? [{ id: args.monitoringNetworkId! }] : []),
    ];
    this.service = new docker.Service(
      `${n.logical}-gateway`,
      forwarderServiceArgs({
        name: n.services.gateway,
        labels: { ...identityLabels(n.stack, "gateway", n.tenant), [LABEL_STATUS]: args.status },
        settings: args.settings,
        ...gatewayCommand(forwards),
        healthcheck: gatewayHealthcheck(forwards),
        networks,
        resources: swarmResources(PLATFORM_RESOURCES.gateway),
        placement: placementSpec(tenantServiceConstraints(args.settings.swarm.placement)),
      }),
      {
        parent: this,
        provider: args.manager,
        aliases: [0, 1].map((i) => opts.parent.urn.apply((u) => previousGatewayUrns(u, n.logical)[i])),
      },
    );
    this.registerOutputs({ service: this.service.name });
  }
}
