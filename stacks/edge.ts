/**
 * TenantEdge: Cloudflare in front of one tenant. A proxied DNS record per ingress address, a
 * self-hosted Access application for the host admitting exactly the tenant's identities plus the
 * platform admins, an optional service token (non_identity policy) and, for tenants with public
 * webhooks, a path application on Kestra's webhook paths with a bypass policy.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { cloudflareOf, type Settings } from "../infra/input/config/schema";
import type { Tenant } from "../infra/input/tenants/schema";
import { accessApplicationName, accessIncludes, ingressRecords, webhookDestinations } from "../infra/render/access";

export interface TenantEdgeArgs {
  tenant: Tenant;
  host: string;
  stack: string;
  settings: Settings;
  cloudflare: cloudflare.Provider;
  /**
   * The monitoring stack's probe policy (non_identity, its service token only), an account-level policy
   * every tenant's application references: the external probe passes Access, nothing else changes.
   */
  probePolicyId?: pulumi.Input<string>;
}

export class TenantEdge extends pulumi.ComponentResource {
  readonly application: cloudflare.ZeroTrustAccessApplication;
  readonly webhookApplication?: cloudflare.ZeroTrustAccessApplication;
  readonly serviceToken?: cloudflare.ZeroTrustAccessServiceToken;

  constructor(name: string, args: TenantEdgeArgs, opts: pulumi.ComponentResourceOptions) {
    super("kestra-fleet:stacks:TenantEdge", name, {}, opts);
    const { tenant, host, settings } = args;
    const t = tenant.name;
    const on = { parent: this, provider: args.cloudflare };
    const cf = cloudflareOf(settings);
    const accountId = cf.accountId;
    const label = `kestra-fleet ${args.stack} ${t}`;

    ingressRecords(cf.ingressAddresses).forEach(
      (record, i) =>
        new cloudflare.DnsRecord(
          `${t}-dns-${i}`,
          {
            zoneId: cf.zoneId,
            name: host,
            ...record,
            ttl: 1,
            // Access only applies to proxied records.
            proxied: true,
            comment: `${label}: Kestra UI and API`,
          },
          on,
        ),
    );

    const allow = new cloudflare.ZeroTrustAccessPolicy(
      `${t}-access-allow`,
      { accountId, name: `${label} allow`, decision: "allow", includes: accessIncludes(tenant, cf.admins), sessionDuration: cf.sessionDuration },
      on,
    );
    const policies: { id: pulumi.Input<string>; precedence: number }[] = [{ id: allow.id, precedence: 1 }];

    if (tenant.access.serviceToken) {
      this.serviceToken = new cloudflare.ZeroTrustAccessServiceToken(`${t}-service-token`, { accountId, name: label, duration: "8760h" }, { ...on, additionalSecretOutputs: ["clientSecret"] });
      const service = new cloudflare.ZeroTrustAccessPolicy(
        `${t}-access-service-token`,
        { accountId, name: `${label} service token`, decision: "non_identity", includes: [{ serviceToken: { tokenId: this.serviceToken.id } }] },
        on,
      );
      policies.push({ id: service.id, precedence: 2 });
    }

    if (args.probePolicyId) policies.push({ id: args.probePolicyId, precedence: policies.length + 1 });

    this.application = new cloudflare.ZeroTrustAccessApplication(
      `${t}-access-app`,
      {
        accountId,
        name: accessApplicationName(tenant, args.stack),
        type: "self_hosted",
        domain: host,
        destinations: [{ type: "public", uri: host }],
        sessionDuration: cf.sessionDuration,
        appLauncherVisible: true,
        policies,
      },
      on,
    );

    if (tenant.access.webhooks === "public") {
      // Kestra webhooks are anonymous and authorised by their key; only these paths bypass.
      const bypass = new cloudflare.ZeroTrustAccessPolicy(
        `${t}-access-webhook-bypass`,
        { accountId, name: `${label} webhooks bypass`, decision: "bypass", includes: [{ everyone: {} }] },
        on,
      );
      const [first, ...rest] = webhookDestinations(host);
      this.webhookApplication = new cloudflare.ZeroTrustAccessApplication(
        `${t}-access-webhook-app`,
        {
          accountId,
          name: accessApplicationName(tenant, args.stack, true),
          type: "self_hosted",
          domain: first,
          destinations: [first, ...rest].map((uri) => ({ type: "public", uri })),
          appLauncherVisible: false,
          policies: [{ id: bypass.id, precedence: 1 }],
        },
        on,
      );
    }

    this.registerOutputs({
      applicationId: this.application.id,
      webhookApplicationId: this.webhookApplication?.id,
      serviceTokenClientId: this.serviceToken?.clientId,
    });
  }
}
