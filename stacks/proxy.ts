/**
 * ProxyStack: the public overlay network and the single Traefik instance of a stack.
 * Traefik runs on one manager node (the swarm API is on managers; ACME state is a local volume
 * there), publishes 80/443 in host mode (client addresses survive; DNS points at that node) and
 * routes only services that opt in with labels.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../infra/config/schema";
import { ACME_VOLUME, LABEL_ROLE, PROXY_SERVICE, PROXY_STACK, PUBLIC_NETWORK } from "../infra/naming";
import { PLATFORM_RESOURCES, swarmResources } from "../infra/profiles";
import { identityLabels, labelList } from "../infra/render/labels";
import { ACME_DIR, DNS_TOKEN_SECRET_FILE, TRAEFIK_DYNAMIC_FILE, traefikArgs, traefikDynamicConfig } from "../infra/render/traefik";
import { hashedConfig, hashedSecret, RESTART_POLICY, secretMount } from "./swarm";

export interface ProxyStackArgs {
  settings: Settings;
  /** Cloudflare token for the ACME DNS challenge (a secret). */
  acmeDnsApiToken: pulumi.Input<string>;
  /** Docker provider of the Swarm manager, and of the node holding acme.json. */
  manager: docker.Provider;
  proxyNode: docker.Provider;
}

export class ProxyStack extends pulumi.ComponentResource {
  readonly publicNetwork: docker.Network;
  readonly service: docker.Service;
  readonly acmeVolume: docker.Volume;

  constructor(name: string, args: ProxyStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:ProxyStack", name, {}, opts);
    const { settings } = args;
    const on = { parent: this, provider: args.manager };

    this.publicNetwork = new docker.Network(
      "proxy-public-network",
      {
        name: PUBLIC_NETWORK,
        driver: "overlay",
        attachable: true,
        labels: labelList({ [LABEL_ROLE]: "public" }),
      },
      on,
    );

    // acme.json (certificates and the ACME account key) lives on the proxy node; Traefik creates
    // it with mode 600. Losing it means re-issuing every certificate: protected and retained.
    this.acmeVolume = new docker.Volume(
      "proxy-acme-volume",
      { name: ACME_VOLUME, driver: "local", labels: labelList({ [LABEL_ROLE]: "proxy" }) },
      { parent: this, provider: args.proxyNode, protect: true, retainOnDelete: true },
    );

    const labels = identityLabels(PROXY_STACK, "proxy");
    const dnsToken = hashedSecret("proxy-dns-token", { prefix: PROXY_STACK, purpose: "cf_dns_token", content: args.acmeDnsApiToken, labels }, on);
    const dynamic = hashedConfig("proxy-dynamic-config", { prefix: PROXY_STACK, purpose: "dynamic", content: traefikDynamicConfig(settings), labels }, on);

    this.service = new docker.Service(
      "proxy-traefik",
      {
        name: PROXY_SERVICE,
        labels: labelList(labels),
        mode: { replicated: { replicas: 1 } },
        taskSpec: {
          containerSpec: {
            image: settings.images.traefik,
            args: traefikArgs(settings),
            env: { CLOUDFLARE_DNS_API_TOKEN_FILE: DNS_TOKEN_SECRET_FILE },
            mounts: [
              { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
              { type: "volume", source: ACME_VOLUME, target: ACME_DIR },
            ],
            secrets: [secretMount(dnsToken, DNS_TOKEN_SECRET_FILE.replace("/run/secrets/", ""))],
            configs: [{ configId: dynamic.id, configName: dynamic.name, fileName: TRAEFIK_DYNAMIC_FILE, fileMode: 0o444 }],
            healthcheck: { tests: ["CMD", "traefik", "healthcheck", "--ping"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "20s" },
            stopGracePeriod: "30s",
          },
          networksAdvanceds: [{ id: this.publicNetwork.id }],
          placement: { constraints: ["node.role == manager", `node.hostname == ${settings.proxy.node}`] },
          resources: swarmResources(PLATFORM_RESOURCES.traefik),
          restartPolicy: RESTART_POLICY,
        },
        endpointSpec: {
          ports: [
            { name: "web", targetPort: 80, publishedPort: 80, publishMode: "host", protocol: "tcp" },
            { name: "websecure", targetPort: 443, publishedPort: 443, publishMode: "host", protocol: "tcp" },
          ],
        },
        // Host-mode ports cannot be bound twice on one node: stop the old task first.
        updateConfig: { order: "stop-first", parallelism: 1, failureAction: "rollback", monitor: "30s" },
        rollbackConfig: { order: "stop-first", parallelism: 1 },
      },
      { ...on, dependsOn: [this.acmeVolume] },
    );

    this.registerOutputs({ publicNetworkId: this.publicNetwork.id, service: this.service.name });
  }
}
