/**
 * A small compliant fleet, written by hand in the shapes the program registers: the platform
 * (Traefik, the Docker socket proxy, MinIO, networks) and two tenants (with storage gateways), `acme` and `acme-eu` (chosen so that a `kestra-acme*`
 * wildcard would also match the other tenant's bucket). Built by functions: every call returns fresh
 * objects, so a test mutates ONE field of its own copy.
 */
import {
  ACME_VOLUME,
  CERT_RESOLVER,
  DOCKER_API_NETWORK,
  ENTRYPOINT_WEBSECURE,
  KESTRA_HTTP_PORT,
  LABEL_ROLE,
  LABEL_STACK,
  LABEL_TENANT,
  MINIO_ALIAS,
  MINIO_VOLUME,
  MONITORING_PROXY_NETWORK,
  MONITORING_STACK,
  ORIGIN_LOCK_MIDDLEWARE,
  POSTGRES_ALIAS,
  PROMETHEUS_SERVICE,
  PROXY_SERVICE,
  PROXY_STACK,
  PUBLIC_NETWORK,
  SOCKET_PROXY_SERVICE,
  STORAGE_ADMIN_MIDDLEWARE,
  STORAGE_NETWORK,
  STORAGE_SERVICE,
  STORAGE_STACK,
  WEBHOOK_PATHS,
  tenantNames,
} from "../../infra/model/naming";
import { runRules } from "../../policies/evaluate";
import type { PolicyResource, Rule, RuleContext, Violation } from "../../policies/model";

export const T = {
  service: "docker:index/service:Service",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  secret: "docker:index/secret:Secret",
  config: "docker:index/serviceConfig:ServiceConfig",
  minioBucket: "minio:index/s3Bucket:S3Bucket",
  awsBucket: "aws:s3/bucket:Bucket",
  minioVersioning: "minio:index/s3BucketVersioning:S3BucketVersioning",
  minioIlm: "minio:index/ilmPolicy:IlmPolicy",
  awsVersioning: "aws:s3/bucketVersioning:BucketVersioning",
  awsPublicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  awsLifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  awsEncryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  randomBytes: "random:index/randomBytes:RandomBytes",
  randomPassword: "random:index/randomPassword:RandomPassword",
  minioPolicy: "minio:index/iamPolicy:IamPolicy",
  awsPolicy: "aws:iam/policy:Policy",
  database: "postgresql:index/database:Database",
  dbRole: "postgresql:index/role:Role",
  dns: "cloudflare:index/dnsRecord:DnsRecord",
  accessApp: "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication",
  accessPolicy: "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy",
  serviceToken: "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken",
} as const;

export const TENANTS = ["acme", "acme-eu"] as const;
export const ZONE = "zone0123";
export const ACCOUNT = "account0123";
export const hostOf = (t: string) => `${t}.kestra.example.com`;
export const STORAGE_ADMIN_HOST = "minio-admin.example.com";

export const urnOf = (type: string, name: string) => `urn:pulumi:test::kestra-fleet::${type}::${name}`;
/** The provider id the offline plan's mocks give a resource. */
export const idOf = (name: string) => `${name}-id`;

type Options = PolicyResource["options"];

function resource(type: string, name: string, props: Record<string, any>, options: Options = {}, deps: Record<string, string[]> = {}, secretInputs: string[] = []): PolicyResource {
  return {
    urn: urnOf(type, name),
    type,
    name,
    id: idOf(name),
    props,
    secretInputs,
    options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ...options },
    propertyDependencies: deps,
  };
}

const STATEFUL: Options = { protect: true, retainOnDelete: true };
/** Every overlay network ignores the options Docker adds after creation (and is replaced delete-first). */
const NETWORK = (): Options => ({ ignoreChanges: ["options"], deleteBeforeReplace: true });

export const labels = (m: Record<string, string>) => Object.entries(m).map(([label, value]) => ({ label, value }));

const RESTART = { condition: "any", delay: "10s", maxAttempts: 0, window: "2m" };
const GIB = 1024 ** 3;
const resources = (cpus: number, memGib: number) => ({
  limits: { nanoCpus: cpus * 1e9, memoryBytes: memGib * GIB },
  reservation: { nanoCpus: (cpus / 4) * 1e9, memoryBytes: (memGib / 2) * GIB },
});

/** A Swarm secret mount of `secret` at `fileName`. */
const secretMount = (secret: PolicyResource, fileName: string) => ({ secretId: secret.id, secretName: secret.props.name, fileName, fileMode: 0o444 });

function service(
  name: string,
  props: { name: string; labels: Record<string, string>; replicas?: number; order?: "stop-first" | "start-first"; endpointSpec?: unknown; taskSpec: Record<string, any> },
  networks: PolicyResource[],
  deps: PolicyResource[] = [],
): PolicyResource {
  const order = props.order ?? "stop-first";
  return resource(
    T.service,
    name,
    {
      name: props.name,
      labels: labels(props.labels),
      mode: { replicated: { replicas: props.replicas ?? 1 } },
      updateConfig: { order, parallelism: 1, failureAction: "rollback", monitor: "60s" },
      rollbackConfig: { order, parallelism: 1 },
      ...(props.endpointSpec ? { endpointSpec: props.endpointSpec } : {}),
      taskSpec: {
        placement: { constraints: [] },
        restartPolicy: { ...RESTART },
        ...props.taskSpec,
        networksAdvanceds: networks.map((n) => ({ id: n.id })),
      },
    },
    {},
    { taskSpec: [...networks, ...deps].map((r) => r.urn).sort(), labels: [] },
  );
}

/** A backup key's policy: write/read/list under `<stack>/postgres/<t>/`, never delete. */
export function backupPolicyDocument(bucket: string, t: string, stack = "test"): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket"], Resource: [`arn:aws:s3:::${bucket}`], Condition: { StringLike: { "s3:prefix": [`${stack}/postgres/${t}/*`] } } },
      { Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], Resource: [`arn:aws:s3:::${bucket}/${stack}/postgres/${t}/*`] },
      { Effect: "Allow", Action: ["s3:DeleteObject"], Resource: [`arn:aws:s3:::${bucket}/${stack}/postgres/${t}/*`] },
      { Effect: "Deny", Action: ["s3:DeleteObjectVersion"], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  });
}

export function storagePolicyDocument(bucket: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "Bucket", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"], Resource: [`arn:aws:s3:::${bucket}`] },
      {
        Sid: "Objects",
        Effect: "Allow",
        Action: [
          "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
          "s3:GetObjectVersion", "s3:DeleteObjectVersion", "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging",
        ],
        Resource: [`arn:aws:s3:::${bucket}/*`],
      },
    ],
  });
}

/** net_monitoring_proxy's subnet in the fixture. */
export const METRICS_SUBNET = "10.254.254.0/26";

/** Traefik's dynamic file as the program renders it with monitoring on (metrics router: allow-list, then basic auth). */
export const DYNAMIC_YAML = [
  "http:",
  "  middlewares:",
  "    cloudflare-only:",
  "      ipAllowList:",
  "        sourceRange:",
  "          - 173.245.48.0/20",
  "    metrics-allowlist:",
  "      ipAllowList:",
  "        sourceRange:",
  `          - ${METRICS_SUBNET}`,
  "    metrics-auth:",
  "      basicAuth:",
  "        usersFile: /run/secrets/traefik_metrics_users",
  "        realm: traefik-metrics",
  "  routers:",
  "    metrics:",
  "      entryPoints:",
  "        - metrics",
  "      rule: PathPrefix(`/metrics`)",
  "      service: prometheus@internal",
  "      middlewares:",
  "        - metrics-allowlist",
  "        - metrics-auth",
  "",
].join("\n");

/** Networks (net_monitoring_proxy with Traefik alone: see monitoringPrometheus), volumes, Traefik, the socket proxy and MinIO. */
export function platform(): PolicyResource[] {
  const publicNet = resource(T.network, "proxy-public-network", { name: PUBLIC_NETWORK, driver: "overlay", attachable: false, labels: labels({ [LABEL_ROLE]: "public" }) }, NETWORK());
  const storageNet = resource(T.network, "storage-network", { name: STORAGE_NETWORK, driver: "overlay", attachable: false, options: { encrypted: "" }, labels: labels({ [LABEL_ROLE]: "storage" }) }, NETWORK());
  const dockerApiNet = resource(T.network, "proxy-docker-api-network", { name: DOCKER_API_NETWORK, driver: "overlay", internal: true, attachable: false, options: { encrypted: "" }, labels: labels({ [LABEL_ROLE]: "docker-api" }) }, NETWORK());
  const acmeVolume = resource(T.volume, "proxy-acme-volume", { name: ACME_VOLUME, driver: "local", labels: labels({ [LABEL_STACK]: PROXY_STACK }) }, STATEFUL);
  const minioVolume = resource(T.volume, "storage-minio-volume", { name: MINIO_VOLUME, driver: "local", labels: labels({ [LABEL_STACK]: STORAGE_STACK }) }, STATEFUL);
  const dnsToken = resource(T.secret, "proxy-dns-token", { name: "platform_proxy_dns_token_0123456789ab", data: "dG9rZW4=", labels: [] }, {}, {}, ["data"]);
  const metricsUsers = resource(T.secret, "proxy-metrics-users", { name: "platform_proxy_metrics_users_0123456789ab", data: "dXNlcnM=", labels: [] }, {}, {}, ["data"]);
  const metricsNet = resource(
    T.network,
    "monitoring-proxy-network",
    { name: MONITORING_PROXY_NETWORK, driver: "overlay", internal: true, attachable: false, options: { encrypted: "" }, ipamConfigs: [{ subnet: METRICS_SUBNET, gateway: "10.254.254.1" }], labels: labels({ [LABEL_ROLE]: "monitoring" }) },
    NETWORK(),
  );
  const dynamic = resource(T.config, "proxy-dynamic-config", { name: "platform_proxy_dynamic_0123456789ab", data: Buffer.from(DYNAMIC_YAML).toString("base64"), labels: [] });
  const minioUser = resource(T.secret, "storage-root-user-secret", { name: "platform_storage_root_user_0123456789ab", data: "dXNlcg==", labels: [] }, {}, {}, ["data"]);
  const minioPassword = resource(T.secret, "storage-root-password-secret", { name: "platform_storage_root_password_0123456789ab", data: "cGFzcw==", labels: [] }, {}, {}, ["data"]);

  const traefik = service(
    "proxy-traefik",
    {
      name: PROXY_SERVICE,
      labels: { [LABEL_STACK]: PROXY_STACK, [LABEL_ROLE]: "proxy" },
      endpointSpec: {
        ports: [
          { targetPort: 80, publishedPort: 80, publishMode: "host", protocol: "tcp" },
          { targetPort: 443, publishedPort: 443, publishMode: "host", protocol: "tcp" },
        ],
      },
      taskSpec: {
        containerSpec: {
          image: "traefik:v3.6.25@sha256:31267173a15b4944e797a76ffd9c419707c8d8b32fe5b610f80cd0cfa05f372d",
          args: [
            "--providers.swarm=true",
            `--providers.swarm.endpoint=tcp://${SOCKET_PROXY_SERVICE}:2375`,
            "--providers.swarm.exposedByDefault=false",
            `--providers.swarm.network=${PUBLIC_NETWORK}`,
            "--providers.file.filename=/etc/traefik/dynamic.yml",
            "--entryPoints.web.address=:80",
            "--entryPoints.websecure.address=:443",
            "--api.dashboard=false",
            "--ping=true",
            "--entryPoints.metrics.address=:8082",
            "--metrics.prometheus=true",
            "--metrics.prometheus.manualRouting=true",
          ],
          env: { CLOUDFLARE_DNS_API_TOKEN_FILE: "/run/secrets/cloudflare_dns_token" },
          secrets: [secretMount(dnsToken, "/run/secrets/cloudflare_dns_token"), secretMount(metricsUsers, "/run/secrets/traefik_metrics_users")],
          configs: [{ configId: dynamic.id, configName: dynamic.props.name, fileName: "/etc/traefik/dynamic.yml", fileMode: 0o444 }],
          mounts: [{ type: "volume", source: ACME_VOLUME, target: "/letsencrypt" }],
          healthcheck: { tests: ["CMD", "traefik", "healthcheck", "--ping"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "20s" },
          stopGracePeriod: "30s",
        },
        placement: { constraints: ["node.role == manager", "node.hostname == manager-1"] },
        resources: resources(1, 0.5),
      },
    },
    [publicNet, dockerApiNet, metricsNet],
    [dnsToken, metricsUsers, dynamic],
  );


  const socketProxy = service(
    "proxy-socket-proxy",
    {
      name: SOCKET_PROXY_SERVICE,
      labels: { [LABEL_STACK]: PROXY_STACK, [LABEL_ROLE]: "socket-proxy" },
      order: "start-first",
      taskSpec: {
        containerSpec: {
          image: "wollomatic/socket-proxy:1.13.1@sha256:3935b709275e4ec35d6ed5a5c4a1f0d01ed31eec5e7234efc3357ecd47689002",
          args: ["-listenip=0.0.0.0", "-allowfrom=tasks.platform_proxy_traefik", "-allowGET=(/v1\\.[0-9]+)?/(_ping|version|services|networks|tasks)", "-allowhealthcheck"],
          user: "0:0",
          capDrops: ["ALL"],
          readOnly: true,
          mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
          healthcheck: { tests: ["CMD", "/healthcheck"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "10s" },
          stopGracePeriod: "10s",
        },
        placement: { constraints: ["node.role == manager", "node.hostname == manager-1"] },
        resources: resources(0.2, 0.125),
      },
    },
    [dockerApiNet],
  );

  const minio = service(
    "storage-minio",
    {
      name: STORAGE_SERVICE,
      labels: {
        [LABEL_STACK]: STORAGE_STACK,
        [LABEL_ROLE]: "storage",
        "traefik.enable": "true",
        "traefik.http.routers.minio-admin.rule": `Host(\`${STORAGE_ADMIN_HOST}\`)`,
        "traefik.http.routers.minio-admin.entrypoints": ENTRYPOINT_WEBSECURE,
        "traefik.http.routers.minio-admin.tls": "true",
        "traefik.http.routers.minio-admin.tls.certresolver": CERT_RESOLVER,
        "traefik.http.routers.minio-admin.middlewares": STORAGE_ADMIN_MIDDLEWARE,
        "traefik.http.services.minio-admin.loadbalancer.server.port": "9000",
        "traefik.swarm.network": PUBLIC_NETWORK,
      },
      taskSpec: {
        containerSpec: {
          image: "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
          args: ["server", "/data", "--console-address", ":9001"],
          env: { MINIO_ROOT_USER_FILE: "minio_root_user", MINIO_ROOT_PASSWORD_FILE: "minio_root_password" },
          secrets: [secretMount(minioUser, "minio_root_user"), secretMount(minioPassword, "minio_root_password")],
          mounts: [{ type: "volume", source: MINIO_VOLUME, target: "/data" }],
          healthcheck: { tests: ["CMD", "mc", "ready", "local"], interval: "15s", timeout: "10s", retries: 5, startPeriod: "30s" },
          stopGracePeriod: "60s",
        },
        placement: { constraints: ["node.hostname == storage-1"] },
        resources: resources(2, 2),
      },
    },
    [storageNet, publicNet],
    [minioUser, minioPassword],
  );
  minio.props.taskSpec.networksAdvanceds[0].aliases = [MINIO_ALIAS];

  const adminDns = resource(T.dns, "storage-admin-dns-0", { zoneId: ZONE, name: STORAGE_ADMIN_HOST, type: "A", content: "203.0.113.10", proxied: false, ttl: 1 });
  return [publicNet, storageNet, dockerApiNet, metricsNet, acmeVolume, minioVolume, dnsToken, metricsUsers, dynamic, minioUser, minioPassword, traefik, socketProxy, minio, adminDns];
}

export interface TenantOptions {
  /** A managed Postgres database (postgresql provider) instead of a Postgres service and volume. */
  managedDb?: boolean;
  /** Public webhooks: a webhook-path Access application with a bypass policy. */
  webhooks?: boolean;
  /** An Access service token with its non_identity policy. */
  serviceToken?: boolean;
  /** AWS S3 (bucket name with a prefix) instead of MinIO. */
  aws?: { prefix: string };
}

/** One tenant's resources. `platform` supplies the shared networks. */
export function tenant(t: string, shared: PolicyResource[], opts: TenantOptions = {}): PolicyResource[] {
  const n = tenantNames(t);
  const host = hostOf(t);
  const publicNet = find(shared, "proxy-public-network");
  const storageNet = find(shared, "storage-network");
  const tenantLabels = (role: string) => ({ [LABEL_STACK]: n.stack, [LABEL_ROLE]: role, [LABEL_TENANT]: t });
  const out: PolicyResource[] = [];

  const privateNet = resource(T.network, `${t}-private-network`, { name: n.privateNetwork, driver: "overlay", attachable: false, options: { encrypted: "" }, labels: labels({ [LABEL_ROLE]: "private", [LABEL_TENANT]: t }) }, NETWORK());
  const configSecret = resource(T.secret, `${t}-kestra-config`, { name: `${n.secretPrefix}_config_0123456789ab`, data: "a2VzdHJh", labels: labels({ [LABEL_TENANT]: t }) }, {}, {}, ["data"]);
  const entrypoint = resource(T.config, `${t}-kestra-entrypoint`, { name: `${n.secretPrefix}_entrypoint_0123456789ab`, data: "IyEvYmluL3No", labels: labels({ [LABEL_TENANT]: t }) });
  out.push(privateNet, configSecret, entrypoint);

  if (opts.managedDb) {
    out.push(
      resource(T.dbRole, `${t}-db-role`, { name: n.dbUser, login: true }, {}, {}, ["password"]),
      resource(T.database, `${t}-database`, { name: n.database, owner: n.dbUser }, STATEFUL),
    );
  } else {
    const volume = resource(T.volume, `${t}-pg18-volume`, { name: n.pgVolume, driver: "local", labels: labels({ [LABEL_TENANT]: t }) }, STATEFUL);
    const pgSecret = resource(T.secret, `${t}-pg-password-secret`, { name: `${n.secretPrefix}_pg_password_0123456789ab`, data: "cGc=", labels: labels({ [LABEL_TENANT]: t }) }, {}, {}, ["data"]);
    const postgres = service(
      `${t}-postgres`,
      {
        name: n.services.postgres,
        labels: tenantLabels("postgres"),
        taskSpec: {
          containerSpec: {
            image: "postgres:18.1",
            env: { POSTGRES_DB: n.database, POSTGRES_USER: n.dbUser, POSTGRES_PASSWORD_FILE: "/run/secrets/postgres_password" },
            secrets: [secretMount(pgSecret, "/run/secrets/postgres_password")],
            mounts: [
              { type: "volume", source: n.pgVolume, target: "/var/lib/postgresql" },
              { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: 256 * 1024 * 1024 } },
            ],
            healthcheck: { tests: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", n.dbUser, "-d", n.database], interval: "10s", timeout: "5s", retries: 6, startPeriod: "60s" },
            stopGracePeriod: "120s",
          },
          placement: { constraints: ["node.hostname == worker-1"] },
          resources: resources(1, 1),
        },
      },
      [privateNet],
      [pgSecret],
    );
    postgres.props.taskSpec.networksAdvanceds[0].aliases = [POSTGRES_ALIAS];
    out.push(volume, pgSecret, postgres);
  }

  const kestra = (logical: string, name: string, role: string, args: string[], networks: PolicyResource[], extraLabels: Record<string, string> = {}, order: "stop-first" | "start-first" = "stop-first") =>
    service(
      logical,
      {
        name,
        labels: { ...tenantLabels(role), ...extraLabels },
        order,
        taskSpec: {
          containerSpec: {
            image: "kestra/kestra:v1.3.37",
            commands: ["/bin/sh", "/usr/local/bin/kestra-fleet-entrypoint.sh"],
            args: [...args, "--config", "/run/secrets/kestra_application.yml"],
            env: { JAVA_OPTS: "-Xmx716m -XX:+ExitOnOutOfMemoryError" },
            secrets: [secretMount(configSecret, "/run/secrets/kestra_application.yml")],
            configs: [{ configId: entrypoint.id, configName: entrypoint.props.name, fileName: "/usr/local/bin/kestra-fleet-entrypoint.sh", fileMode: 0o555 }],
            healthcheck: { tests: ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8081/health"], interval: "30s", timeout: "10s", retries: 5, startPeriod: "180s" },
            stopGracePeriod: "6m",
          },
          resources: resources(1, 1),
        },
      },
      networks,
      [configSecret, entrypoint],
    );

  if (!opts.aws) {
    const gateway = service(
      `${t}-gateway`,
      {
        name: n.services.gateway,
        labels: tenantLabels("gateway"),
        order: "start-first",
        taskSpec: {
          containerSpec: {
            image: "alpine/socat:1.8.0.3@sha256:beb4a68d9e4fe6b0f21ea774a0fde6c31f580dde6368939ed70100c5385b015e",
            args: ["tcp-listen:9000,fork,reuseaddr", `tcp-connect:${STORAGE_SERVICE}:9000`],
            user: "65534:65534",
            capDrops: ["ALL"],
            readOnly: true,
            healthcheck: { tests: ["CMD", "socat", "-u", "OPEN:/dev/null", "TCP:127.0.0.1:9000,connect-timeout=3"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "5s" },
            stopGracePeriod: "10s",
          },
          resources: resources(0.4, 0.125),
        },
      },
      [privateNet, storageNet],
    );
    gateway.props.taskSpec.networksAdvanceds[0].aliases = [MINIO_ALIAS];
    out.push(gateway);
  }

  const r = n.router;
  out.push(
    kestra(`${t}-kestra`, n.services.web, "web", ["server", "webserver"], [privateNet, publicNet], {
      "traefik.enable": "true",
      [`traefik.http.routers.${r}.rule`]: `Host(\`${host}\`)`,
      [`traefik.http.routers.${r}.entrypoints`]: ENTRYPOINT_WEBSECURE,
      [`traefik.http.routers.${r}.tls`]: "true",
      [`traefik.http.routers.${r}.tls.certresolver`]: CERT_RESOLVER,
      [`traefik.http.routers.${r}.middlewares`]: ORIGIN_LOCK_MIDDLEWARE,
      [`traefik.http.routers.${r}.service`]: r,
      [`traefik.http.services.${r}.loadbalancer.server.port`]: String(KESTRA_HTTP_PORT),
      "traefik.swarm.network": PUBLIC_NETWORK,
    }, "start-first"),
    kestra(`${t}-executor`, n.services.backend, "backend", ["server", "standalone", "--worker-thread", "0"], [privateNet]),
    kestra(`${t}-worker`, n.services.worker, "worker", ["server", "worker"], [privateNet], {}, "start-first"),
  );

  // Backup: the tenant's dump service on its private network, credentials as secret files.
  const backupSecret = resource(T.secret, `${t}-backup-secret-key`, { name: `${n.stack}_backup_secret_key_abc`, data: "c2VjcmV0" }, { deleteBeforeReplace: false });
  out.push(
    backupSecret,
    service(
      `${t}-backup`,
      {
        name: n.services.backup,
        labels: { ...tenantLabels("backup"), "kestra-fleet.status": "active" },
        taskSpec: {
          containerSpec: {
            image: "registry.example.com/kestra-fleet/backup:18.1-mc2025-08-13",
            commands: ["/bin/sh", "/usr/local/bin/kestra-fleet-backup.sh"],
            args: ["dump"],
            env: { PGHOST: POSTGRES_ALIAS, S3_SECRET_KEY_FILE: "/run/secrets/backup_secret_key" },
            secrets: [secretMount(backupSecret, "/run/secrets/backup_secret_key")],
            healthcheck: { tests: ["CMD", "/bin/sh", "/usr/local/bin/kestra-fleet-backup.sh", "health"], interval: "60s", timeout: "10s", retries: 3, startPeriod: "120s" },
            stopGracePeriod: "60s",
          },
          // Limits only: the capacity tests' numbers stay those of the Kestra and platform services.
          resources: { limits: { nanoCpus: 1e9, memoryBytes: 512 * 1024 * 1024 }, reservation: { nanoCpus: 0, memoryBytes: 0 } },
        },
      },
      [privateNet],
      [backupSecret],
    ),
    resource(opts.aws ? T.awsPolicy : T.minioPolicy, `${t}-backup-policy`, { name: `backup.test.${t}`, policy: backupPolicyDocument("kestra-fleet-backups", t) }),
  );

  // Storage.
  const bucketName = opts.aws ? `${opts.aws.prefix}${n.bucket}` : n.bucket;
  out.push(
    resource(opts.aws ? T.awsBucket : T.minioBucket, `${t}-bucket`, { bucket: bucketName, forceDestroy: false }, STATEFUL),
    resource(opts.aws ? T.awsPolicy : T.minioPolicy, `${t}-storage-policy`, { name: bucketName, policy: storagePolicyDocument(bucketName) }),
  );
  // What keeps the (retained) bucket versioned and private is protected and retained like it; its
  // other settings are retained.
  const versioning = { bucket: bucketName, versioningConfiguration: { status: "Enabled" } };
  if (opts.aws) {
    out.push(
      resource(T.awsVersioning, `${t}-bucket-versioning`, versioning, STATEFUL),
      resource(T.awsPublicAccess, `${t}-bucket-public-access`, { bucket: bucketName, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, STATEFUL),
      resource(T.awsEncryption, `${t}-bucket-encryption`, { bucket: bucketName, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, { retainOnDelete: true }),
      resource(T.awsLifecycle, `${t}-bucket-lifecycle`, { bucket: bucketName, rules: [{ id: "expire-noncurrent-versions", status: "Enabled" }] }, { retainOnDelete: true }),
    );
  } else {
    out.push(
      resource(T.minioVersioning, `${t}-bucket-versioning`, versioning, STATEFUL),
      resource(T.minioIlm, `${t}-bucket-lifecycle`, { bucket: bucketName, rules: [{ id: "expire-noncurrent-versions", status: "Enabled" }] }, { retainOnDelete: true }),
    );
  }
  // Kestra's encryption key: protected (random resources have nothing to retain).
  out.push(resource(T.randomBytes, `${t}-encryption-key`, { length: 32 }, { protect: true }));
  // The database password: protected (Postgres keeps the value it was initialised with).
  out.push(resource(T.randomPassword, `${t}-db-password`, { length: 32, special: false }, { protect: true }));

  // Edge.
  const allow = resource(T.accessPolicy, `${t}-access-allow`, { accountId: ACCOUNT, name: `${t} allow`, decision: "allow", includes: [{ email: { email: "ops@example.com" } }, { emailDomain: { domain: `${t}.example.org` } }] });
  const appPolicies: PolicyResource[] = [allow];
  out.push(resource(T.dns, `${t}-dns-0`, { zoneId: ZONE, name: host, type: "A", content: "203.0.113.10", proxied: true, ttl: 1 }), allow);
  if (opts.serviceToken) {
    const token = resource(T.serviceToken, `${t}-service-token`, { accountId: ACCOUNT, name: `${t} automation` });
    const nonIdentity = resource(T.accessPolicy, `${t}-access-service-token`, { accountId: ACCOUNT, name: `${t} service token`, decision: "non_identity", includes: [{ serviceToken: { tokenId: token.id } }] }, {}, { includes: [token.urn] });
    appPolicies.push(nonIdentity);
    out.push(token, nonIdentity);
  }
  const app = (logical: string, name: string, domains: string[], policies: PolicyResource[]) =>
    resource(
      T.accessApp,
      logical,
      { accountId: ACCOUNT, name, type: "self_hosted", domain: domains[0], destinations: domains.map((uri) => ({ type: "public", uri })), policies: policies.map((p, i) => ({ id: p.id, precedence: i + 1 })) },
      {},
      { policies: policies.map((p) => p.urn) },
    );
  out.push(app(`${t}-access-app`, `Kestra ${t}`, [host], appPolicies));
  if (opts.webhooks) {
    const bypass = resource(T.accessPolicy, `${t}-access-webhook-bypass`, { accountId: ACCOUNT, name: `${t} webhooks bypass`, decision: "bypass", includes: [{ everyone: {} }] });
    out.push(bypass, app(`${t}-access-webhook-app`, `Kestra ${t} webhooks`, WEBHOOK_PATHS.map((p) => `${host}${p}*`), [bypass]));
  }
  return out;
}

/** The compliant fleet: platform, `acme` (webhooks and a service token) and `acme-eu`. */
/** Prometheus on the given networks (not in the base fleet: its reservations would move the capacity tests' numbers). */
export function monitoringPrometheus(networks: PolicyResource[]): PolicyResource {
  return service(
    "monitoring-prometheus",
    {
      name: PROMETHEUS_SERVICE,
      labels: { [LABEL_STACK]: MONITORING_STACK, [LABEL_ROLE]: "prometheus" },
      taskSpec: {
        containerSpec: {
          image: "prom/prometheus:v3.5.0@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996",
          args: ["--config.file=/etc/prometheus/prometheus.yml", "--web.listen-address=:9090"],
          healthcheck: { tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/healthy"], interval: "30s", timeout: "5s", retries: 3, startPeriod: "30s" },
          stopGracePeriod: "2m",
        },
        placement: { constraints: ["node.hostname == worker-1"] },
        resources: resources(1, 1),
      },
    },
    networks,
  );
}

export function fleet(): PolicyResource[] {
  const shared = platform();
  return [...shared, ...tenant("acme", shared, { webhooks: true, serviceToken: true }), ...tenant("acme-eu", shared)];
}

export function find(rs: PolicyResource[], name: string): PolicyResource {
  const r = rs.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name} in the fixture`);
  return r;
}

export function remove(rs: PolicyResource[], name: string): void {
  rs.splice(rs.indexOf(find(rs, name)), 1);
}

/** Sets (or with `undefined` removes) one label of a resource. */
export function setLabel(r: PolicyResource, label: string, value: string | undefined): void {
  const list = (r.props.labels as { label: string; value: string }[]).filter((l) => l.label !== label);
  if (value !== undefined) list.push({ label, value });
  r.props.labels = list;
}

export const containerSpec = (r: PolicyResource): Record<string, any> => r.props.taskSpec.containerSpec;

/** The violations of one rule over the fleet after `mutate` changed a fresh copy. */
export function violations(rule: Rule, mutate: (rs: PolicyResource[]) => void = () => {}, ctx: RuleContext = {}, build: () => PolicyResource[] = fleet): Violation[] {
  const rs = build();
  mutate(rs);
  return runRules([rule], rs, ctx);
}
