/**
 * ProxyStack: the public overlay network and the single Traefik instance of a stack.
 * Traefik runs on one manager node (ACME state is a local volume there), publishes 80/443 in host
 * mode (client addresses survive; DNS points at that node) and routes only services that opt in with
 * labels. It reads the Swarm through a filtering socket proxy (wollomatic/socket-proxy) that alone
 * mounts the Docker socket, answers only the read calls of Traefik's swarm provider, and sits with
 * Traefik, and nothing else, on an internal overlay, on the same manager.
 * A lab stack without Cloudflare (`edge.provider: none`) has no ACME (no state volume, no DNS token):
 * Traefik serves its self-signed default certificate, and its service carries the label
 * kestra-fleet.lab=true that tells the policy pack the stack is a lab stack.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { edgeOf, type Settings } from "../infra/input/config/schema";
import { ACME_VOLUME, DOCKER_API_NETWORK, LABEL_LAB, LABEL_ROLE, nodeLocalName, PROXY_SERVICE, PROXY_STACK, PUBLIC_NETWORK, SOCKET_PROXY_SERVICE, TRAEFIK_METRICS_USERS_FILE } from "../infra/model/naming";
import { PLATFORM_RESOURCES, swarmResources } from "../infra/model/profiles";
import { identityLabels, labelList } from "../infra/render/labels";
import { socketProxyArgs, socketProxyContainerSpec } from "../infra/render/socket-proxy";
import { ACME_DIR, DNS_TOKEN_SECRET_FILE, TRAEFIK_DYNAMIC_FILE, traefikArgs, traefikDynamicConfig, traefikMetricsUsers } from "../infra/render/traefik";
import { endpointSpec, hashedConfig, hashedSecret, LOG_DRIVER, networkOptions, RESTART_POLICY, secretMount } from "./swarm";

export interface ProxyStackArgs {
  settings: Settings;
  /** Cloudflare token for the ACME DNS challenge (a secret); required behind Cloudflare, unused in a lab stack without it. */
  acmeDnsApiToken?: pulumi.Input<string>;
  /** Docker provider of the Swarm manager, and of the node holding acme.json. */
  manager: docker.Provider;
  proxyNode: docker.Provider;
  /** The monitoring network, when monitoring is on: Traefik joins it to route Grafana (its router's network). */
  monitoringNetworkId?: pulumi.Input<string>;
  /** Prometheus's and Traefik's own network, when monitoring is on: Traefik's metrics admit its subnet only. */
  metricsNetworkId?: pulumi.Input<string>;
  /** The password of the metrics router's basic auth (a secret), when monitoring is on. */
  metricsPassword?: pulumi.Input<string>;
}

export class ProxyStack extends pulumi.ComponentResource {
  readonly publicNetwork: docker.Network;
  readonly service: docker.Service;
  /** acme.json's volume; absent in a lab stack without Cloudflare (no ACME). */
  readonly acmeVolume?: docker.Volume;
  readonly dockerApiNetwork: docker.Network;
  readonly socketProxy: docker.Service;

  constructor(name: string, args: ProxyStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:ProxyStack", name, {}, opts);
    const { settings } = args;
    const on = { parent: this, provider: args.manager };
    const acme = edgeOf(settings).provider === "cloudflare";
    if (acme && args.acmeDnsApiToken === undefined) throw new Error("ProxyStack: a stack behind Cloudflare needs the ACME DNS token");

    this.publicNetwork = new docker.Network(
      "proxy-public-network",
      {
        name: PUBLIC_NETWORK,
        driver: "overlay",
        attachable: true,
        labels: labelList({ [LABEL_ROLE]: "public" }),
      },
      { ...on, ...networkOptions() },
    );

    // acme.json (certificates and the ACME account key) lives on the proxy node; Traefik creates
    // it with mode 600. Losing it means re-issuing every certificate: protected and retained.
    if (acme) {
      this.acmeVolume = new docker.Volume(
        nodeLocalName("proxy-acme-volume", settings.proxy.node),
        { name: ACME_VOLUME, driver: "local", labels: labelList({ [LABEL_ROLE]: "proxy" }) },
        { parent: this, provider: args.proxyNode, protect: true, retainOnDelete: true },
      );
    }

    // --- Docker API access: the socket proxy, alone on an internal overlay with Traefik ----------
    // Internal: no gateway, no route out. Not attachable: no standalone container can join it.
    this.dockerApiNetwork = new docker.Network(
      "proxy-docker-api-network",
      {
        name: DOCKER_API_NETWORK,
        driver: "overlay",
        internal: true,
        attachable: false,
        options: settings.swarm.encryptNetworks ? { encrypted: "" } : undefined,
        labels: labelList({ [LABEL_ROLE]: "docker-api" }),
      },
      { ...on, ...networkOptions() },
    );
    const managerPlacement = { constraints: ["node.role == manager", `node.hostname == ${settings.proxy.node}`] };
    this.socketProxy = new docker.Service(
      "proxy-socket-proxy",
      {
        name: SOCKET_PROXY_SERVICE,
        labels: labelList(identityLabels(PROXY_STACK, "socket-proxy")),
        mode: { replicated: { replicas: 1 } },
        taskSpec: {
          containerSpec: socketProxyContainerSpec(settings.images.socketProxy, socketProxyArgs()),
          networksAdvanceds: [{ id: this.dockerApiNetwork.id }],
          // The swarm API answers on managers; beside Traefik, so the API traffic stays on the node.
          placement: managerPlacement,
          resources: swarmResources(PLATFORM_RESOURCES.socketProxy),
          restartPolicy: RESTART_POLICY,
          logDriver: LOG_DRIVER,
        },
        endpointSpec: endpointSpec(settings),
        updateConfig: { order: "start-first", parallelism: 1, failureAction: "rollback", monitor: "30s" },
        rollbackConfig: { order: "start-first", parallelism: 1 },
      },
      on,
    );

    const labels = identityLabels(PROXY_STACK, "proxy");
    const dnsToken = acme && args.acmeDnsApiToken !== undefined ? hashedSecret("proxy-dns-token", { prefix: PROXY_STACK, purpose: "cf_dns_token", content: args.acmeDnsApiToken, labels }, on) : undefined;
    if (settings.monitoring.enabled !== (args.metricsPassword !== undefined) || settings.monitoring.enabled !== (args.metricsNetworkId !== undefined)) {
      throw new Error("ProxyStack: the metrics password and network come with monitoring, and only with it");
    }
    // The metrics router's users file (htpasswd, deterministic hash): a secret of Traefik alone.
    const metricsUsers = args.metricsPassword
      ? [secretMount(hashedSecret("proxy-metrics-users", { prefix: PROXY_STACK, purpose: "metrics_users", content: pulumi.output(args.metricsPassword).apply(traefikMetricsUsers), labels }, on), TRAEFIK_METRICS_USERS_FILE.replace("/run/secrets/", ""))]
      : [];
    const dynamic = hashedConfig("proxy-dynamic-config", { prefix: PROXY_STACK, purpose: "dynamic", content: traefikDynamicConfig(settings), labels }, on);

    this.service = new docker.Service(
      "proxy-traefik",
      {
        name: PROXY_SERVICE,
        // The lab declaration (kestra-fleet:lab) rides on Traefik's service: the policy pack sees resources, not stack config.
        labels: labelList(settings.lab ? { ...labels, [LABEL_LAB]: "true" } : labels),
        mode: { replicated: { replicas: 1 } },
        taskSpec: {
          containerSpec: {
            image: settings.images.traefik,
            args: traefikArgs(settings),
            ...(dnsToken ? { env: { CLOUDFLARE_DNS_API_TOKEN_FILE: DNS_TOKEN_SECRET_FILE } } : {}),
            ...(acme ? { mounts: [{ type: "volume", source: ACME_VOLUME, target: ACME_DIR }] } : {}),
            secrets: [...(dnsToken ? [secretMount(dnsToken, DNS_TOKEN_SECRET_FILE.replace("/run/secrets/", ""))] : []), ...metricsUsers],
            configs: [{ configId: dynamic.id, configName: dynamic.name, fileName: TRAEFIK_DYNAMIC_FILE, fileMode: 0o444 }],
            healthcheck: { tests: ["CMD", "traefik", "healthcheck", "--ping"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "20s" },
            stopGracePeriod: "30s",
          },
          // With monitoring (a one-time change of the shared proxy when it is turned on): the monitoring
          // network (Grafana's router) and net_monitoring_proxy, Prometheus's and Traefik's alone. The
          // metrics entry point is published on no node; it listens on every network of the container,
          // but its router admits only net_monitoring_proxy's subnet (ipAllowList, then basic auth:
          // traefikDynamicConfig), so a peer on any other network gets 403 whatever it sends.
          networksAdvanceds: [
            { id: this.publicNetwork.id },
            { id: this.dockerApiNetwork.id },
            ...(args.monitoringNetworkId ? [{ id: args.monitoringNetworkId }] : []),
            ...(args.metricsNetworkId ? [{ id: args.metricsNetworkId }] : []),
          ],
          placement: managerPlacement,
          resources: swarmResources(PLATFORM_RESOURCES.traefik),
          restartPolicy: RESTART_POLICY,
          logDriver: LOG_DRIVER,
        },
        endpointSpec: endpointSpec(settings, [
          { name: "web", targetPort: 80, publishedPort: 80, publishMode: "host", protocol: "tcp" },
          { name: "websecure", targetPort: 443, publishedPort: 443, publishMode: "host", protocol: "tcp" },
        ]),
        // Host-mode ports cannot be bound twice on one node: stop the old task first.
        updateConfig: { order: "stop-first", parallelism: 1, failureAction: "rollback", monitor: "30s" },
        rollbackConfig: { order: "stop-first", parallelism: 1 },
      },
      { ...on, dependsOn: this.acmeVolume ? [this.acmeVolume, this.socketProxy] : [this.socketProxy] },
    );

    this.registerOutputs({ publicNetworkId: this.publicNetwork.id, service: this.service.name, socketProxy: this.socketProxy.name });
  }
}
