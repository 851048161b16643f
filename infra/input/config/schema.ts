/**
 * Stack config: every key under the `kestra-fleet:` namespace of Pulumi.<stack>.yaml, validated once
 * at start. Staging and prod differ only here. Secret keys are listed in SECRET_KEYS and are set by
 * operators with `pulumi config set --secret`; they never sit in the committed files.
 */
import { z } from "zod";
import { cidr, cron, domain, email, emailDomain, gitBranch, imageParts, ipAddress, nodeName, pinnedImage, placementConstraints, syncNamespace, uuid } from "../fields";
import { CLOUDFLARE_LIMITS } from "../../model/naming";
import { floatingTagProblem } from "../../model/images";
import { postgresMajor } from "../../render/postgres";
import { DEFAULT_PROXY_METRICS_SUBNET, proxyMetricsSubnetProblem } from "../../render/metrics-network";

const hex32 = (what: string) => z.string().regex(/^[a-f0-9]{32}$/, { message: `is not a Cloudflare ${what} (32 lower-case hex digits)` });

const duration = () => z.string().regex(/^[0-9]+(ms|s|m|h)$/, { message: "is not a duration such as 30s, 5m or 24h" });

/** Kestra must be an exact 1.x release: v1.X.Y (2.0 migrates the database irreversibly). */
export const kestraImage = () =>
  pinnedImage().superRefine((v, ctx) => {
    const tag = imageParts(v)?.tag;
    if (imageParts(v) && !(tag && /^v1\.[0-9]+\.[0-9]+$/.test(tag))) {
      ctx.addIssue({ code: "custom", message: "must pin an exact Kestra 1.x release tag, e.g. kestra/kestra:v1.1.6 (a digest may follow)" });
    }
  });

/**
 * Postgres pinned with its major in the tag (`postgres:18.1`, `postgres:18.1@sha256:…`): the data
 * volume's identity follows the major (infra/model/naming.ts pgVolumeLogicalName), a bare digest hides it.
 */
const postgresImage = () =>
  pinnedImage().superRefine((v, ctx) => {
    const parts = imageParts(v);
    // Only a pinned reference: an unpinned or floating one already has its own message.
    if (parts && (parts.tag || parts.digest) && !floatingTagProblem(v) && postgresMajor(v) === undefined) {
      ctx.addIssue({ code: "custom", message: "must carry the Postgres major version in its tag, e.g. postgres:18.1 (a digest may follow): the data volume follows the major" });
    }
  });

/**
 * Traefik v3 at or past the newest security release of its minor line: v3.6.25 and v3.7.10 (both
 * 2026-07-31, advisories GHSA-fgjj-px3w-67xx, GHSA-62fc-8686-hfmq, GHSA-6765-c87h-8mrf; v3.6.22–.24
 * fixed earlier ones), any later minor. Older v3.6 patches carry published vulnerabilities, and
 * releases before 3.6.1 fail against Docker Engine 29.
 */
export const TRAEFIK_MINIMUM: Record<number, number> = { 6: 25, 7: 10 };
const traefikImage = () =>
  pinnedImage().superRefine((v, ctx) => {
    const tag = imageParts(v)?.tag;
    const m = tag ? /^v?3\.([0-9]+)\.([0-9]+)$/.exec(tag) : null;
    const minor = m ? Number(m[1]) : 0;
    const ok = m && minor >= 6 && Number(m[2]) >= (TRAEFIK_MINIMUM[minor] ?? 0);
    if (imageParts(v) && !floatingTagProblem(v) && !ok) {
      ctx.addIssue({ code: "custom", message: "must pin Traefik v3.6.25 or later (v3.7.10 or later on the 3.7 line) by exact tag, e.g. traefik:v3.6.25@sha256:… (earlier releases carry published security fixes)" });
    }
  });

/** A maintained third-party image pinned by tag and digest: the tag says what it is, the digest makes it immutable. */
const digestPinnedImage = () =>
  pinnedImage().superRefine((v, ctx) => {
    const parts = imageParts(v);
    if (parts && !(parts.tag && parts.digest)) ctx.addIssue({ code: "custom", message: "must be pinned by tag and digest, e.g. alpine/socat:1.8.0.3@sha256:…" });
  });

const hostPattern = () =>
  z.string().superRefine((v, ctx) => {
    if (!v.includes("{tenant}")) {
      ctx.addIssue({ code: "custom", message: "must contain {tenant}, e.g. {tenant}-kestra.example.com" });
      return;
    }
    if (!/^\{tenant\}[.-]/.test(v) && !/^[a-z0-9-]*\{tenant\}[a-z0-9-]*\./.test(v)) {
      ctx.addIssue({ code: "custom", message: "must put {tenant} in the first label, e.g. {tenant}.kestra.example.com or {tenant}-kestra.example.com" });
      return;
    }
    if (!domain().safeParse(v.split("{tenant}").join("tenant")).success) {
      ctx.addIssue({ code: "custom", message: "does not give a valid host name" });
    }
  });

const maxIncludes = { message: `must have at most ${CLOUDFLARE_LIMITS.includesPerPolicy} entries (Cloudflare Access rules per policy)` };

/** A duration in minutes or hours between 15m and 24h. */
const backupInterval = () =>
  z
    .string()
    .regex(/^[0-9]+(m|h)$/, { message: "is not a duration in minutes or hours such as 30m or 6h" })
    .refine((v) => {
      const s = Number(v.slice(0, -1)) * (v.endsWith("h") ? 3600 : 60);
      return s >= 900 && s <= 86400 && 86400 % s === 0;
    }, { message: "must be between 15m and 24h and divide a day evenly (15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h ...)" });

const backupSettings = () =>
  z
    .strictObject({
      /** How often each tenant's database is dumped (aligned to UTC: 6h = 00:00, 06:00, ...). */
      interval: backupInterval().default("6h"),
      /** How often every tenant bucket is mirrored (MinIO storage only). */
      mirrorInterval: backupInterval().default("1h"),
      /** Days a dump, and a replaced version of a mirrored object, is kept. */
      retentionDays: z.int().min(1).max(3650).default(30),
      /** Dumps of each tenant always kept, whatever their age (the newest; pruning needs a new dump). */
      keepLast: z.int().min(1).max(1000).default(7),
      target: z
        .strictObject({
          provider: z.enum(["aws", "minio"]),
          /** The dedicated backup bucket (one per stack). */
          bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "is not an S3 bucket name" }),
          aws: z.strictObject({ region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]$/, { message: "is not an AWS region such as eu-west-1" }) }).optional(),
          /** A MinIO-compatible server off the fleet's nodes; admin credentials are the secrets backupTargetUser/backupTargetPassword. */
          minio: z
            .strictObject({
              /** host:port of its S3/admin API, reached over TLS. */
              endpoint: z.string().regex(/^[a-z0-9.-]+(:[0-9]{1,5})?$/, { message: "must be host or host:port (TLS is always used)" }),
              region: z.string().min(1).default("us-east-1"),
            })
            .optional(),
        })
        .superRefine((t, ctx) => {
          if (t.provider === "aws" && !t.aws) ctx.addIssue({ code: "custom", path: ["aws"], message: "is required when provider is aws" });
          if (t.provider === "minio" && !t.minio) ctx.addIssue({ code: "custom", path: ["minio"], message: "is required when provider is minio" });
        }),
    });

const identities = z.strictObject({
  emails: z.array(email()).max(CLOUDFLARE_LIMITS.includesPerPolicy, maxIncludes).default([]),
  emailDomains: z.array(emailDomain()).max(CLOUDFLARE_LIMITS.includesPerPolicy, maxIncludes).default([]),
  groups: z.array(uuid()).max(CLOUDFLARE_LIMITS.includesPerPolicy, maxIncludes).default([]),
});

export const SettingsSchema = z
  .strictObject({
    /** Tenant host: `{tenant}` replaced by the tenant name. */
    hostPattern: hostPattern(),
    /**
     * Deploy documentation values (example.com names, 192.0.2.0/24 addresses, sample ids) anyway. They
     * are warnings on every stack and errors on prod unless this is true (README, Placeholder values).
     */
    allowPlaceholderValues: z.boolean().default(false),
    /** Declared when Cloudflare Advanced Certificate Manager covers second-level names. */
    advancedCertificate: z.boolean().default(false),
    /**
     * Declares a lab stack: a throwaway fleet (the end-to-end suite's) that never serves clients. Only a
     * lab stack may leave Cloudflare out (`edge.provider: none`); its Traefik service carries the label
     * kestra-fleet.lab=true, which the policy pack reads (README, Lab stacks). Never on prod.
     */
    lab: z.boolean().default(false),
    /**
     * What stands in front of Traefik. `cloudflare` (the default): proxied DNS records, an Access
     * application per tenant host, Traefik admitting Cloudflare's ranges only, ACME over Cloudflare's DNS.
     * `none` (lab stacks only): no Cloudflare resource or provider at all; Traefik admits `allowList`
     * only and serves its own self-signed default certificate.
     */
    edge: z
      .discriminatedUnion("provider", [
        z.strictObject({ provider: z.literal("cloudflare") }),
        z.strictObject({
          provider: z.literal("none"),
          /** Source addresses Traefik admits to every routed host (the lab's clients), instead of Cloudflare's ranges. */
          allowList: z.array(cidr()).min(1),
        }),
      ])
      .default({ provider: "cloudflare" }),
    /** Required with edge.provider cloudflare (the default); refused with none. */
    cloudflare: z.strictObject({
      accountId: hex32("account id"),
      zoneId: hex32("zone id"),
      zone: domain(),
      /** Public addresses DNS records point at: the node(s) running Traefik. */
      ingressAddresses: z.array(ipAddress()).min(1),
      /** Platform admins, added to every tenant's Access policy. */
      admins: identities.refine((a) => a.emails.length + a.emailDomains.length + a.groups.length > 0, {
        message: "must name at least one admin email, email domain or group",
      }),
      /** Cloudflare's published IP ranges (https://www.cloudflare.com/ips/): origin lock and trusted proxies. */
      originRanges: z.array(cidr()).min(1),
      sessionDuration: duration().default("24h"),
    }).optional(),
    images: z.strictObject({
      kestra: kestraImage(),
      postgres: postgresImage(),
      traefik: traefikImage(),
      minio: pinnedImage(),
      /** TCP forwarder of each tenant's gateway (stacks/tenant-gateway.ts): alpine/socat. */
      storageGateway: digestPinnedImage(),
      /** Filtering proxy between Traefik and the Docker socket: wollomatic/socket-proxy. */
      socketProxy: digestPinnedImage(),
      /** Monitoring (required while monitoring.enabled): prom/prometheus, prom/alertmanager, prom/node-exporter, gcr.io/cadvisor/cadvisor, grafana/grafana, prom/blackbox-exporter. */
      prometheus: digestPinnedImage().optional(),
      grafana: digestPinnedImage().optional(),
      blackbox: digestPinnedImage().optional(),
      alertmanager: digestPinnedImage().optional(),
      nodeExporter: digestPinnedImage().optional(),
      cadvisor: digestPinnedImage().optional(),
      /** Backup and mirror services: sh, pg_dump/pg_restore/psql of the pinned Postgres major, and mc (images/backup/Dockerfile). */
      backup: pinnedImage(),
    }),
    swarm: z.strictObject({
      /** Docker endpoint of a Swarm manager (ssh://user@host or tcp://host:2376 with TLS). */
      dockerHost: z.string().regex(/^(ssh|tcp|unix|npipe):\/\//, { message: "must be a Docker host URL such as ssh://deploy@manager-1" }),
      /** Docker endpoint of each node that holds a volume (Postgres data, ACME state, MinIO data). */
      nodes: z.record(nodeName(), z.string().regex(/^(ssh|tcp):\/\//, { message: "must be a Docker host URL such as ssh://deploy@node-1" })),
      /** Default node for tenants' Postgres volumes. */
      dataNode: nodeName(),
      /** Encrypt the tenants' private overlay networks (IPsec between nodes). */
      encryptNetworks: z.boolean().default(true),
      /**
       * How services are reached on their overlays: `vip` (a virtual IP balanced by IPVS, Docker's
       * default) or `dnsrr` (DNS round robin over the tasks' addresses, for kernels without IPVS).
       */
      endpointMode: z.enum(["vip", "dnsrr"]).default("vip"),
      /**
       * Where tenants' workloads may run (README, Capacity and cost > Placement). `tenants`: constraints
       * of every tenant service that is not pinned (Kestra, gateway, backup), e.g. `node.role == worker`;
       * `sizes.<size>`: added to the Kestra services of tenants of that size, e.g. `node.labels.kestra-fleet.size == large`
       * (a tenant file's `kestra.placement` replaces its size's). Absent: tasks float over every node.
       */
      placement: z
        .strictObject({
          tenants: placementConstraints().default([]),
          sizes: z.strictObject({ small: placementConstraints().optional(), medium: placementConstraints().optional(), large: placementConstraints().optional() }).default({}),
        })
        .optional(),
    }),
    proxy: z.strictObject({
      /** Manager node that runs the single Traefik instance and holds acme.json. */
      node: nodeName(),
      acmeEmail: email(),
      /** ACME directory; Let's Encrypt production by default. */
      acmeCaServer: z.url().default("https://acme-v02.api.letsencrypt.org/directory"),
      logLevel: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO"),
    }),
    gitSync: z.strictObject({
      branch: gitBranch(),
      targetNamespace: syncNamespace(),
      schedule: cron(),
    }),
    storage: z
      .strictObject({
        provider: z.enum(["minio", "aws"]),
        /** Days a replaced or deleted object version is kept. */
        noncurrentVersionDays: z.int().min(1).max(3650).default(30),
        minio: z
          .strictObject({
            node: nodeName(),
            /** Host of the S3/admin API, routed by Traefik (DNS-only record), for the Pulumi provider. */
            adminHost: domain(),
            /** Addresses allowed to reach the admin host (operators, CI). */
            adminAllowList: z.array(cidr()).min(1),
          })
          .optional(),
        aws: z
          .strictObject({
            region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]$/, { message: "is not an AWS region such as eu-west-1" }),
            /** S3 bucket names are global: an optional prefix keeps kestra-<t> unique to this fleet. */
            bucketPrefix: z.string().regex(/^([a-z0-9][a-z0-9-]{0,20}-)?$/, { message: "must be empty or end in '-' (e.g. 'acme-ops-')" }).default(""),
          })
          .optional(),
      })
      .superRefine((s, ctx) => {
        if (s.provider === "minio" && !s.minio) ctx.addIssue({ code: "custom", path: ["minio"], message: "is required when provider is minio" });
        if (s.provider === "aws" && !s.aws) ctx.addIssue({ code: "custom", path: ["aws"], message: "is required when provider is aws" });
      }),
    /** External PostgreSQL server for tenants with `postgres.mode: managed`. */
    managedPostgres: z
      .strictObject({
        host: z.string().min(1),
        port: z.int().min(1).max(65535).default(5432),
        username: z.string().min(1),
        sslmode: z.enum(["disable", "require", "verify-ca", "verify-full"]).default("require"),
        database: z.string().default("postgres"),
      })
      .optional(),
    /** The monitoring stack (Prometheus, Alertmanager, exporters): on unless `enabled: false`. */
    monitoring: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Node holding Prometheus's and Alertmanager's volumes (default: swarm.dataNode). */
        node: nodeName().optional(),
        /** Grafana's host (proxied, behind Cloudflare Access for the platform admins only). */
        grafanaHost: domain().optional(),
        /** How long Prometheus keeps samples (Prometheus duration: 15d, 8w, 1y). */
        retention: z.string().regex(/^[1-9][0-9]*(h|d|w|y)$/, { message: "is not a retention such as 30d, 8w or 1y" }).default("30d"),
        /** Subnet of net_monitoring_proxy (Prometheus and Traefik only): Traefik's metrics admit this range only. */
        proxyMetricsSubnet: z
          .string()
          .superRefine((v, ctx) => {
            const problem = proxyMetricsSubnetProblem(v);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          })
          .default(DEFAULT_PROXY_METRICS_SUBNET),
        /** Where Alertmanager sends alerts; its secret (webhook URL, SMTP password) is the secret key alertReceiverSecret. */
        alerts: z
          .discriminatedUnion("receiver", [
            z.strictObject({ receiver: z.literal("webhook") }),
            z.strictObject({
              receiver: z.literal("email"),
              to: email(),
              from: email(),
              /** SMTP server host:port (STARTTLS required). */
              smarthost: z.string().regex(/^[a-z0-9.-]+:[0-9]{1,5}$/, { message: "is not a host:port such as smtp.example.com:587" }),
              /** SMTP user; its password is the secret alertReceiverSecret. */
              username: z.string().min(1).optional(),
            }),
          ])
          .optional(),
      })
      .default({ enabled: true, retention: "30d", proxyMetricsSubnet: DEFAULT_PROXY_METRICS_SUBNET }),
    /** Off-node backups: database dumps, bucket mirror and key escrow (README, Data safety). */
    backup: backupSettings(),
    /**
     * The Swarm's nodes with their size and monthly price: the capacity policies (per-node fit,
     * headroom, CPU/memory limits a node can run) and the plan's cost report.
     */
    capacity: z
      .strictObject({
        /** ISO 4217 code of monthlyCost, for the report. */
        currency: z.string().regex(/^[A-Z]{3}$/, { message: "is not a currency code such as EUR or USD" }).default("EUR"),
        /** Every node of the Swarm (managers and workers), by hostname. */
        nodes: z
          .record(
            nodeName(),
            z.strictObject({
              cpus: z.number().positive(),
              memoryGb: z.number().positive(),
              diskGb: z.number().positive(),
              monthlyCost: z.number().min(0),
              /** The node's Swarm role: placement `node.role` constraints are checked against it (undeclared: assumed to match). */
              role: z.enum(["manager", "worker"]).optional(),
              /** The node's labels (`docker node update --label-add k=v`): placement `node.labels.k` constraints are checked against them. */
              labels: z.record(z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/, { message: "is not a node label key" }), z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/, { message: "is not a node label value" })).optional(),
            }),
          )
          .refine((n) => Object.keys(n).length > 0, { message: "must list at least one node" }),
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    const nodes = Object.keys(s.swarm.nodes);
    const need = (node: string, p: (string | number)[], what: string) => {
      if (!nodes.includes(node)) ctx.addIssue({ code: "custom", path: p, message: `${what} "${node}" has no Docker endpoint in swarm.nodes` });
    };
    need(s.swarm.dataNode, ["swarm", "dataNode"], "node");
    need(s.proxy.node, ["proxy", "node"], "node");
    if (s.storage.minio) need(s.storage.minio.node, ["storage", "minio", "node"], "node");
    if (s.capacity && s.swarm.placement) {
      // A role constraint is checked against each node's declared role: declare them all, or the estimate guesses.
      const p = s.swarm.placement;
      const usesRole = [...p.tenants, ...Object.values(p.sizes).flat()].some((c) => /^\s*node\.role\b/.test(c ?? ""));
      if (usesRole) {
        for (const node of Object.keys(s.capacity.nodes).sort()) {
          if (!s.capacity.nodes[node].role) ctx.addIssue({ code: "custom", path: ["capacity", "nodes", node, "role"], message: "is required while swarm.placement names node.role: manager or worker" });
        }
      }
    }
    if (s.capacity) {
      const sized = Object.keys(s.capacity.nodes);
      // The data, proxy and storage nodes are in swarm.nodes (checked above).
      for (const node of [...nodes].sort()) {
        if (!sized.includes(node)) ctx.addIssue({ code: "custom", path: ["capacity", "nodes"], message: `has no entry for node "${node}" of swarm.nodes: list every Swarm node with its cpus, memoryGb, diskGb and monthlyCost` });
      }
    }
    if (s.edge.provider === "cloudflare" && !s.cloudflare) {
      ctx.addIssue({ code: "custom", path: ["cloudflare"], message: "is required with edge.provider cloudflare (the default): the account, zone, ingress addresses, admins and origin ranges" });
    }
    if (s.edge.provider === "none") {
      if (!s.lab) {
        ctx.addIssue({
          code: "custom",
          path: ["edge", "provider"],
          message: "none leaves Cloudflare out (no DNS records, no Access: every tenant's Kestra would answer anyone on edge.allowList): only a lab stack may; declare it with kestra-fleet:lab: true, or use provider cloudflare (README, Lab stacks)",
        });
      }
      if (s.cloudflare) ctx.addIssue({ code: "custom", path: ["cloudflare"], message: "is not used with edge.provider none: remove it" });
    }
    const zone = s.cloudflare?.zone;
    if (s.monitoring.enabled) {
      if (s.monitoring.node) need(s.monitoring.node, ["monitoring", "node"], "node");
      if (!s.monitoring.alerts) {
        ctx.addIssue({ code: "custom", path: ["monitoring", "alerts"], message: "is required while monitoring is on (the default): { receiver: webhook } or { receiver: email, to, from, smarthost }; or set monitoring.enabled: false" });
      }
      if (!s.monitoring.grafanaHost) {
        ctx.addIssue({ code: "custom", path: ["monitoring", "grafanaHost"], message: `is required while monitoring is on (the default): Grafana's host, e.g. grafana.${zone ?? "example.com"}; or set monitoring.enabled: false` });
      } else if (zone && !s.monitoring.grafanaHost.endsWith(`.${zone}`)) {
        ctx.addIssue({ code: "custom", path: ["monitoring", "grafanaHost"], message: `is outside the Cloudflare zone ${zone}` });
      }
      for (const key of MONITORING_IMAGES) {
        if (!s.images[key]) ctx.addIssue({ code: "custom", path: ["images", key], message: "is required while monitoring is on (the default): pin it by tag and digest, or set monitoring.enabled: false" });
      }
    }
    const sample = s.hostPattern.split("{tenant}").join("tenant");
    if (zone && !(sample === zone || sample.endsWith(`.${zone}`))) {
      ctx.addIssue({ code: "custom", path: ["hostPattern"], message: `gives hosts outside the Cloudflare zone ${zone}` });
    }
    const bt = s.backup.target;
    if (bt.provider === "minio" && s.storage.minio && bt.minio && bt.minio.endpoint.split(":")[0] === s.storage.minio.adminHost) {
      ctx.addIssue({ code: "custom", path: ["backup", "target", "minio", "endpoint"], message: "is the fleet's own MinIO: backups must live off the storage and data nodes" });
    }
    if (s.storage.provider === "aws" && bt.provider === "aws" && s.storage.aws && bt.bucket.startsWith(`${s.storage.aws.bucketPrefix}kestra-`)) {
      ctx.addIssue({ code: "custom", path: ["backup", "target", "bucket"], message: "looks like a tenant bucket name: use a dedicated backup bucket" });
    }
    if (zone && s.storage.minio && !(s.storage.minio.adminHost.endsWith(`.${zone}`))) {
      ctx.addIssue({ code: "custom", path: ["storage", "minio", "adminHost"], message: `is outside the Cloudflare zone ${zone}` });
    }
  });

export type Settings = z.output<typeof SettingsSchema>;
export type CloudflareSettings = NonNullable<Settings["cloudflare"]>;

/** The stack's edge, with what it needs: Cloudflare's settings, or a lab stack's allow-list. */
export type Edge = { provider: "cloudflare"; cloudflare: CloudflareSettings } | { provider: "none"; allowList: string[] };

/** The validated edge of a stack (the schema guarantees the Cloudflare block with provider cloudflare). */
export function edgeOf(settings: Settings): Edge {
  if (settings.edge.provider === "none") {
    if (!settings.lab) throw new Error("edge.provider none on a stack not declared lab (kestra-fleet:lab: true)");
    return { provider: "none", allowList: settings.edge.allowList };
  }
  if (!settings.cloudflare) throw new Error("edge.provider cloudflare without kestra-fleet:cloudflare");
  return { provider: "cloudflare", cloudflare: settings.cloudflare };
}

/** Cloudflare's settings; throws on a stack that leaves Cloudflare out (call it only on Cloudflare paths). */
export function cloudflareOf(settings: Settings): CloudflareSettings {
  const edge = edgeOf(settings);
  if (edge.provider !== "cloudflare") throw new Error("this stack leaves Cloudflare out (edge.provider none)");
  return edge.cloudflare;
}
export type BackupSettings = Settings["backup"];

/** Images the monitoring stack needs. */
export const MONITORING_IMAGES = ["prometheus", "alertmanager", "nodeExporter", "cadvisor", "grafana", "blackbox"] as const;

/** Secret stack config: never in the committed files. */
export const GitCredentialSchema = z.strictObject({
  username: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  sshKey: z.string().min(1).optional(),
  passphrase: z.string().min(1).optional(),
});
export type GitCredential = z.output<typeof GitCredentialSchema>;

export const SecretsSchema = z.strictObject({
  /** Cloudflare API token of the Pulumi provider: DNS edit, Access apps and policies, service tokens (required with edge.provider cloudflare). */
  cloudflareApiToken: z.string().min(1).optional(),
  /** Cloudflare token Traefik uses for the ACME DNS challenge (Zone:Read, DNS:Edit on the zone; required with edge.provider cloudflare). */
  acmeDnsApiToken: z.string().min(1).optional(),
  /** Per tenant git credentials: { <tenant>: { token, username? } | { sshKey, passphrase? } }. */
  gitCredentials: z.record(z.string(), GitCredentialSchema).default({}),
  /** Password of managedPostgres.username. */
  managedPostgresPassword: z.string().min(1).optional(),
  /** Alertmanager's receiver secret: the webhook URL (it usually carries a token), or the SMTP password. */
  alertReceiverSecret: z.string().min(1).optional(),
  /** Encrypts the escrowed tenant keys and credentials in the backup bucket (keep a copy off Pulumi: README, Data safety). */
  backupEscrowPassphrase: z.string().min(16, { message: "must be at least 16 characters (e.g. openssl rand -base64 32)" }),
  /** Admin credentials of a MinIO backup target (backup.target.provider minio). */
  backupTargetUser: z.string().min(1).optional(),
  backupTargetPassword: z.string().min(1).optional(),
});
export type Secrets = z.output<typeof SecretsSchema>;

/** The secrets a stack behind Cloudflare needs (and a lab stack without it does not). */
export const CLOUDFLARE_SECRET_KEYS = ["cloudflareApiToken", "acmeDnsApiToken"] as const;

export const SECRET_KEYS = [
  "cloudflareApiToken",
  "acmeDnsApiToken",
  "gitCredentials",
  "managedPostgresPassword",
  "alertReceiverSecret",
  "backupEscrowPassphrase",
  "backupTargetUser",
  "backupTargetPassword",
] as const;

/** Whether the receiver needs alertReceiverSecret: a webhook always (its URL), e-mail with an SMTP user. */
export function needsAlertSecret(settings: Settings): boolean {
  const a = settings.monitoring.enabled ? settings.monitoring.alerts : undefined;
  return !!a && (a.receiver === "webhook" || !!a.username);
}

export const SETTINGS_KEYS = Object.keys(SettingsSchema.shape) as readonly string[];
