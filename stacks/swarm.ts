/**
 * Small Pulumi helpers shared by the stacks: Swarm secrets and configs named by a hash of their
 * inputs. Every input of a docker.Secret/ServiceConfig (data, labels) forces replacement, and an
 * object in use cannot be deleted: a new name per content and labels plus deleteBeforeReplace=false
 * makes Pulumi create the new object, roll the service onto it, then delete the old one.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../infra/input/config/schema";
import { contentName } from "../infra/model/naming";
import { labelList, type Labels } from "../infra/render/labels";

export function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

export interface HashedArgs {
  /** Docker-name prefix, e.g. `kestra_acme`. */
  prefix: string;
  /** What the object holds, e.g. `config`, `pg_password`. */
  purpose: string;
  content: pulumi.Input<string>;
  labels: Labels;
}

/**
 * The stack's object-name key (infra/program.ts sets it before declaring anything): the HMAC key of
 * every hashed name. One program declares one stack, so a module-level value is enough.
 */
let objectNameKey: pulumi.Output<string> | undefined;

export function setObjectNameKey(key: pulumi.Output<string>): void {
  objectNameKey = key;
}

/** `<prefix>_<purpose>_<12 hex of the keyed HMAC of content and labels>`: every ForceNew input is in the name. */
function hashedName(args: HashedArgs, content: pulumi.Output<string>): pulumi.Output<string> {
  if (!objectNameKey) throw new Error(`${args.prefix}_${args.purpose}: no object-name key (setObjectNameKey) before declaring a hashed Swarm object`);
  return pulumi.all([content, objectNameKey]).apply(([c, key]) => contentName(args.prefix, args.purpose, { data: c, labels: args.labels }, key));
}

/** A Swarm secret whose data is a Pulumi secret and whose name is hashed from its data and labels. */
export function hashedSecret(logicalName: string, args: HashedArgs, opts: pulumi.CustomResourceOptions): docker.Secret {
  const content = pulumi.secret(pulumi.output(args.content));
  return new docker.Secret(
    logicalName,
    {
      // A keyed hash reveals nothing of the secret: keep the name readable in plans and `docker secret ls`.
      name: pulumi.unsecret(hashedName(args, content)),
      data: content.apply(base64),
      labels: labelList(args.labels),
    },
    { ...opts, deleteBeforeReplace: false },
  );
}

/** A Swarm config (non-secret file) named by a hash of its data and labels. */
export function hashedConfig(logicalName: string, args: HashedArgs, opts: pulumi.CustomResourceOptions): docker.ServiceConfig {
  const content = pulumi.output(args.content);
  return new docker.ServiceConfig(
    logicalName,
    {
      // The key is a secret; the keyed hash of it is not.
      name: pulumi.unsecret(hashedName(args, content)),
      data: content.apply(base64),
      labels: labelList(args.labels),
    },
    { ...opts, deleteBeforeReplace: false },
  );
}

/**
 * Resource options of every overlay network. Docker adds options of its own to a network
 * (`com.docker.network.driver.overlay.vxlanid_list`, next to `encrypted`), the provider reads them
 * back, and `options` forces replacement: without ignoreChanges every `pulumi up` would replace the
 * network and every service attached to it. A deliberate change of the options (switching
 * `swarm.encryptNetworks`) is a `pulumi up --replace` of the network (README: Moving data to another
 * node; switching network encryption). Docker refuses two networks of one name, and a targeted replace
 * does not ask the provider, so the replacement must delete the old network first.
 */
export function networkOptions(): Pick<pulumi.CustomResourceOptions, "ignoreChanges" | "deleteBeforeReplace"> {
  return { ignoreChanges: ["options"], deleteBeforeReplace: true };
}

/**
 * Log rotation of every service: Docker's json-file driver keeps at most 5 files of 10 MiB per
 * container, so no node's disk fills with logs; `docker service logs` reads them.
 */
export const LOG_DRIVER = { name: "json-file", options: { "max-size": "10m", "max-file": "5" } };

/** Service restart policy shared by every service. */
export const RESTART_POLICY = { condition: "any", delay: "10s", maxAttempts: 0, window: "2m" };

/**
 * Secret mount at /run/secrets/<fileName>. Mode 0444 as Swarm's default: Kestra and Postgres read
 * their files as non-root users; the file exists only inside that service's containers.
 */
export function secretMount(secret: docker.Secret, fileName: string, mode = 0o444) {
  return { secretId: secret.id, secretName: secret.name, fileName: `/run/secrets/${fileName}`, fileMode: mode };
}

/** A published port of a service (host mode: `dnsrr` cannot publish through the routing mesh). */
export interface PublishedPort {
  name: string;
  targetPort: number;
  publishedPort: number;
  publishMode: "host";
  protocol: "tcp" | "udp";
}

/**
 * The endpoint spec of every service: the stack's `swarm.endpointMode` (vip or dnsrr), and the
 * service's published ports if any. Stated even for the default so Docker's stored value matches.
 */
export function endpointSpec(settings: Settings, ports?: PublishedPort[]): { mode: "vip" | "dnsrr"; ports?: PublishedPort[] } {
  return ports?.length ? { mode: settings.swarm.endpointMode, ports } : { mode: settings.swarm.endpointMode };
}

/**
 * The service spec of a tenant's socat forwarder (its gateway: stacks/tenant-gateway.ts): one
 * replica of the pinned socat image, unprivileged (nobody, no capability, read-only root: socat
 * listens on unprivileged ports and writes nothing), stateless, so the new task starts before the
 * old one stops. Only what it forwards, where it listens and how it is checked differ.
 */
export function forwarderServiceArgs(args: {
  name: string;
  labels: Labels;
  settings: Settings;
  commands?: string[];
  args: string[];
  healthcheck: docker.types.input.ServiceTaskSpecContainerSpecHealthcheck;
  networks: docker.types.input.ServiceTaskSpecNetworksAdvanced[];
  resources: docker.types.input.ServiceTaskSpecResources;
  /** Placement constraints (stack config swarm.placement.tenants); none: the task floats. */
  placement?: { constraints: string[] };
}): docker.ServiceArgs {
  return {
    name: args.name,
    labels: labelList(args.labels),
    mode: { replicated: { replicas: 1 } },
    taskSpec: {
      containerSpec: {
        image: args.settings.images.storageGateway,
        commands: args.commands,
        args: args.args,
        user: "65534:65534",
        capDrops: ["ALL"],
        readOnly: true,
        healthcheck: args.healthcheck,
        stopGracePeriod: "10s",
      },
      networksAdvanceds: args.networks,
      placement: args.placement,
      resources: args.resources,
      restartPolicy: RESTART_POLICY,
      logDriver: LOG_DRIVER,
    },
    endpointSpec: endpointSpec(args.settings),
    updateConfig: { order: "start-first", parallelism: 1, failureAction: "rollback", monitor: "30s" },
    rollbackConfig: { order: "start-first", parallelism: 1 },
  };
}
