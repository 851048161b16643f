/** Every rule, in a fixed order: used by the CrossGuard pack (crossguard.ts) and by the offline plan (evaluate.ts). */
import type { Rule } from "../model";
import { backupPolicyScope } from "./backup-policy-scope";
import { capacity, capacityHeadroom, limitsFitNodes, limitsPlacement } from "./capacity";
import { cloudflareLimits } from "./cloudflare-limits";
import { dockerSocketAndBinds } from "./docker-socket-and-binds";
import { dockerSocketReach } from "./docker-socket-reach";
import { edgeAccess } from "./edge-access";
import { fileEnvSecret } from "./file-env-secret";
import { kestraImageOrigin } from "./kestra-image-origin";
import { labStack } from "./lab-stack";
import { networkIsolation } from "./network-isolation";
import { noForceDestroy } from "./no-force-destroy";
import { noSecretEnv } from "./no-secret-env";
import { ownBucketUsers } from "./own-bucket-users";
import { pinnedImages } from "./pinned-images";
import { portsOnlyProxy } from "./ports-only-proxy";
import { postgresSinglePinned } from "./postgres-single-pinned";
import { proxyHardening } from "./proxy-hardening";
import { runtimeTuning } from "./runtime-tuning";
import { serviceResourcesHealth } from "./service-resources-health";
import { stackIntegrity } from "./stack-integrity";
import { statefulProtected } from "./stateful-protected";
import { storagePolicyScope } from "./storage-policy-scope";
import { swarmObjectsRoll } from "./swarm-objects-roll";
import { tenantNetworkSeparation } from "./tenant-network-separation";
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
  postgresSinglePinned, // 8 (stack)
  traefikLabelsScope, // 9
  tenantRouter, // 10
  storagePolicyScope, // 11
  edgeAccess, // 12 (stack)
  networkIsolation, // 13 (stack)
  stackIntegrity, // 14 (stack)
  capacity, // 15 (stack)
  fileEnvSecret, // 16
  cloudflareLimits, // 17 (stack, advisory)
  swarmObjectsRoll, // added
  proxyHardening, // added
  runtimeTuning, // added (advisory)
  tenantNetworkSeparation, // added (stack)
  dockerSocketReach, // added (stack)
  backupPolicyScope, // added
  capacityHeadroom, // 15b (stack, advisory)
  limitsFitNodes, // 15c (stack)
  limitsPlacement, // 15d (stack, advisory)
  ownBucketUsers, // added (stack)
  labStack, // added (stack)
  kestraImageOrigin,
];
