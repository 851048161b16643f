/**
 * KestraShared (`platform_kestra`): what every tenant's Kestra services use and no tenant owns. Today
 * the entry-point wrapper (infra/render/entrypoint.ts), the same script for every tenant: one Swarm
 * config, named by a hash of its content like every Swarm object (stacks/swarm.ts), mounted read-only
 * by each tenant's web, backend and workers. It holds no secret and depends on no tenant: adding a
 * tenant changes nothing here; changing the script rolls every tenant's Kestra services, as one
 * config per tenant did.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { KESTRA_SHARED_STACK, LABEL_STACK } from "../infra/model/naming";
import { ENTRYPOINT_SCRIPT } from "../infra/render/entrypoint";
import { hashedConfig } from "./swarm";

export class KestraShared extends pulumi.ComponentResource {
  /** The Kestra entry-point wrapper, mounted at ENTRYPOINT_PATH by every tenant's Kestra services. */
  readonly entrypoint: docker.ServiceConfig;

  constructor(name: string, args: { manager: docker.Provider }, opts?: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:KestraShared", name, {}, opts);
    this.entrypoint = hashedConfig(
      "kestra-entrypoint",
      { prefix: KESTRA_SHARED_STACK, purpose: "entrypoint", content: ENTRYPOINT_SCRIPT, labels: { [LABEL_STACK]: KESTRA_SHARED_STACK } },
      { parent: this, provider: args.manager },
    );
    this.registerOutputs({ entrypoint: this.entrypoint.name });
  }
}
