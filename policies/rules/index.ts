/** Every rule, in a fixed order: used by the CrossGuard pack and by the offline plan. */
import type { Rule } from "../model";
import { capacity } from "./capacity";
import { cloudflareLimits } from "./cloudflare-limits";
import { dockerSocketAndBinds } from "./docker-socket-and-binds";
import { edgeAccess } from "./edge-access";
import { fileEnvSecret } from "./file-env-secret";
import { networkIsolation } from "./network-isolation";
import { noForceDestroy } from "./no-force-destroy";
import { noSecretEnv } from "./no-secret-env";
import { pinnedImages } from "./pinned-images";
import { portsOnlyProxy } from "./ports-only-proxy";
import { postgresSinglePinned } from "./postgres-single-pinned";
import { proxyHardening } from "./proxy-hardening";
import { serviceResourcesHealth } from "./service-resources-health";
import { stackIntegrity } from "./stack-integrity";
import { statefulProtected } from "./stateful-protected";
import { storagePolicyScope } from "./storage-policy-scope";
import { swarmObjectsRoll } from "./swarm-objects-roll";
import { tenantRouter } from "./tenant-router";
import { traefikLabelsScope } from "./traefik-labels-scope";

export const rules: Rule[] = [
  statefulProtected, // 1
  noForceDestroy, // 2
  dockerSocketAndBinds, // 3
  portsOnlyProxy, // 4
  serviceResourcesHealth, // 5
  pinnedImages, // 6
  noSecretEnv, // 7
  postgresSinglePinned, // 8
  traefikLabelsScope, // 9
  tenantRouter, // 10
  storagePolicyScope, // 11
  edgeAccess, // 12
  networkIsolation, // 13
  stackIntegrity, // 14
  capacity, // 15 (advisory)
  fileEnvSecret, // 16
  cloudflareLimits, // 17 (advisory)
  swarmObjectsRoll, // added
  proxyHardening, // added
];
