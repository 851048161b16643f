import { describe, expect, it } from "vitest";
import { COMPONENTS } from "../../e2e/components";
import { lifecycleDocument } from "../../e2e/storage";

describe("e2e storage: the plan's lifecycle rules as mc ilm import reads them", () => {
  it("maps a tenant bucket's non-current expiry (no prefix)", () => {
    expect(lifecycleDocument({ bucket: "kestra-a", rules: [{ id: "expire-noncurrent-versions", noncurrentVersionExpirationDays: 30, status: "Enabled" }] })).toEqual({
      Rules: [{ ID: "expire-noncurrent-versions", Status: "Enabled", Filter: { Prefix: "" }, NoncurrentVersionExpiration: { NoncurrentDays: 30 } }],
    });
  });
  it("maps the backup bucket's per-prefix expiry ('30d' as the provider writes it)", () => {
    expect(lifecycleDocument({ bucket: "b", rules: [{ id: "postgres", filter: "postgres/", expiration: "30d", noncurrentVersionExpirationDays: 7, status: "Enabled" }] }).Rules[0]).toEqual({
      ID: "postgres",
      Status: "Enabled",
      Filter: { Prefix: "postgres/" },
      Expiration: { Days: 30 },
      NoncurrentVersionExpiration: { NoncurrentDays: 7 },
    });
  });
});

describe("e2e components: exact module versions", () => {
  it("pins every component to a tag or a pseudo-version, never a branch or latest", () => {
    for (const c of COMPONENTS) expect(c.version).toMatch(/^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9]{14}-[0-9a-f]{12})?$/);
  });
});
