import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { SCHEMA_FILE, tenantJsonSchema } from "../../infra/schema-gen";

describe("tenants/schema.json", () => {
  it("is generated from the zod schema and committed up to date (run `npm run schema`)", () => {
    expect(fs.readFileSync(SCHEMA_FILE, "utf8")).toBe(tenantJsonSchema());
  });

  it("is draft-07, refuses unknown keys and requires name, access and kestra", () => {
    const s = JSON.parse(tenantJsonSchema());
    expect(s.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(["name", "access", "kestra"]);
    expect(s.properties.access.additionalProperties).toBe(false);
  });

  it("every tenant file points editors at it", () => {
    for (const f of fs.readdirSync("tenants").filter((x) => x.endsWith(".yaml"))) {
      expect(fs.readFileSync(`tenants/${f}`, "utf8").split("\n")[0]).toBe("# yaml-language-server: $schema=./schema.json");
    }
  });
});
