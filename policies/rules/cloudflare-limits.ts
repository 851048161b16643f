import { CLOUDFLARE_LIMITS } from "../../infra/model/naming";
import { TYPES, ofType, type StackRule } from "../model";

/** Rule 17 (advisory): Cloudflare's per-account limits. */
export const cloudflareLimits: StackRule = {
  kind: "stack",
  name: "cloudflare-limits",
  description: `At most ${CLOUDFLARE_LIMITS.accessApplications} Access applications and ${CLOUDFLARE_LIMITS.serviceTokens} service tokens per Cloudflare account.`,
  level: "advisory",
  check(all, report) {
    const apps = ofType(all, TYPES.accessApp).length;
    const tokens = ofType(all, TYPES.serviceToken).length;
    if (apps > CLOUDFLARE_LIMITS.accessApplications) {
      report(`${apps} Access applications exceed Cloudflare's limit of ${CLOUDFLARE_LIMITS.accessApplications} per account: split tenants over accounts or drop webhook applications`);
    }
    if (tokens > CLOUDFLARE_LIMITS.serviceTokens) {
      report(`${tokens} Access service tokens exceed Cloudflare's limit of ${CLOUDFLARE_LIMITS.serviceTokens} per account: share the account's tokens more sparingly`);
    }
  },
};
