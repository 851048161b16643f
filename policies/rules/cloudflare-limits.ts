import { CLOUDFLARE_LIMITS } from "../../infra/naming";
import { T, type StackRule } from "../model";

/** Rule 17 (advisory): Cloudflare's per-account limits. */
export const cloudflareLimits: StackRule = {
  kind: "stack",
  name: "cloudflare-limits",
  description: "At most 500 Access applications and 50 service tokens.",
  level: "advisory",
  check(all, report) {
    const apps = all.filter((r) => r.type === T.accessApp).length;
    const tokens = all.filter((r) => r.type === T.serviceToken).length;
    if (apps > CLOUDFLARE_LIMITS.accessApplications) report(`${apps} Access applications exceed Cloudflare's limit of ${CLOUDFLARE_LIMITS.accessApplications} per account`);
    if (tokens > CLOUDFLARE_LIMITS.serviceTokens) report(`${tokens} service tokens exceed Cloudflare's limit of ${CLOUDFLARE_LIMITS.serviceTokens} per account`);
  },
};
