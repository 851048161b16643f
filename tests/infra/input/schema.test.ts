import { describe, expect, it } from "vitest";
import { tenantJsonSchema } from "../../../infra/input/schema-gen";

describe("tenants/schema.json", () => {
  it("is draft-07, refuses unknown keys and requires name, access and kestra", () => {
    const s = JSON.parse(tenantJsonSchema());
    expect(s.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(["name", "access", "kestra"]);
    expect(s.properties.access.additionalProperties).toBe(false);
  });
});
