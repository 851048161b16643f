import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configFromStackFile } from "../../../infra/input/config/load";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { loadInputs } from "../../../infra/input/inputs";
import { findPlaceholders, placeholderReason, sampleId } from "../../../infra/input/placeholders";
import { FIXTURE_ROOT, FIXTURE_TENANTS, tmpDir, withRealValues } from "../../helpers";
import { tenantsDir, tenantYaml } from "../../files";

describe("placeholder values", () => {
  it("documentation names, addresses and sample ids", () => {
    const yes: [string, RegExp][] = [
      ["{tenant}-kestra.example.com", /documentation domain example\.com/],
      ["ops@example.org", /example\.org/],
      ["ssh://deploy@node-1.staging.example.net:22", /example\.net/],
      ["kestra.test", /reserved top-level domain \.test/],
      ["198.51.100.10", /198\.51\.100\.0\/24/],
      ["192.0.2.0/24", /192\.0\.2\.0\/24/],
      ["203.0.113.7", /203\.0\.113\.0\/24/],
      ["2001:db8::10", /2001:db8::\/32/],
      ["2001:db8:1::/48", /2001:db8::\/32/],
      ["0123456789abcdef0123456789abcdef", /sample id/],
      ["fedcba9876543210fedcba9876543210", /sample id/],
      ["00000000-0000-0000-0000-000000000000", /sample id/],
    ];
    for (const [v, re] of yes) expect(placeholderReason(v), v).toMatch(re);
    for (const v of ["acme.com", "ops@acme.com", "myexample.com", "example.com.au", "173.245.48.0/20", "2400:cb00::/32", "81.2.69.160", "9c41e07d5a3b28f61d0e4a7c3b95f812", "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d", "kestra/kestra:v1.3.37", "*/5 * * * *", "https://acme-v02.api.letsencrypt.org/directory"]) {
      expect(placeholderReason(v), v).toBeUndefined();
    }
    expect(sampleId("0123456789abcde")).toBe(false); // too short to be an id
    expect(findPlaceholders({ a: ["x", "s3.example.com"], b: { c: "192.0.2.1" } }).map((f) => f.path)).toEqual([["a", 1], ["b", "c"]]);
  });
});

/** A project root: the fixture stack files, `prod` replaced by `prodText`. */
function project(prodText: string): string {
  const dir = tmpDir("kf-ph-");
  fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.staging.yaml")));
  fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), prodText);
  return dir;
}
const prodFixture = fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.prod.yaml"), "utf8");
const inputs = (root: string, stack: string, tenants = FIXTURE_TENANTS) =>
  loadInputs({ stack, stacks: ["prod", "staging"], config: configFromStackFile(root, stack), tenantsDir: tenants });

describe("placeholders per stack", () => {
  it("prod refuses them, each with file:line:col, unless the stack opts in", () => {
    const text = prodFixture.replace(/^ {2}kestra-fleet:allowPlaceholderValues: true\n/m, "");
    const r = inputs(project(text), "prod");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const lines = r.errors.map(formatDiagnostic);
    const zoneLine = text.split("\n").findIndex((l) => l.includes("zone: example.com")) + 1;
    expect(lines).toContain(
      `Pulumi.prod.yaml:${zoneLine}:11 kestra-fleet:cloudflare.zone: is a placeholder (a name under the documentation domain example.com) on stack prod: put the real value, or deploy it knowingly with \`kestra-fleet:allowPlaceholderValues: true\` in Pulumi.prod.yaml`,
    );
    expect(lines.some((l) => l.includes("kestra-fleet:cloudflare.accountId: is a placeholder (a sample id)"))).toBe(true);
    expect(lines.some((l) => l.includes("kestra-fleet:cloudflare.ingressAddresses.0: is a placeholder (an address in the documentation range 198.51.100.0/24)"))).toBe(true);
  });

  it("with the opt-in, and on any other stack, they are warnings with stack, file, position and field", () => {
    const prod = inputs(FIXTURE_ROOT, "prod");
    const staging = inputs(FIXTURE_ROOT, "staging");
    expect(prod.ok && staging.ok).toBe(true);
    if (!prod.ok || !staging.ok) return;
    for (const [stack, r] of [["prod", prod], ["staging", staging]] as const) {
      const ph = r.inputs.notices.filter((n) => n.kind === "placeholder");
      expect(ph.length).toBeGreaterThan(5);
      expect(ph.find((n) => n.kind === "placeholder" && n.field === "kestra-fleet:cloudflare.zone")).toMatchObject({
        stack,
        tenant: null,
        file: `Pulumi.${stack}.yaml`,
        line: expect.any(Number),
        col: 11,
        message: expect.stringMatching(new RegExp(`^Pulumi\\.${stack}\\.yaml:\\d+:11 kestra-fleet:cloudflare\\.zone: placeholder value \\(a name under the documentation domain example\\.com\\): replace it before stack ${stack} is deployed$`)),
      });
    }
  });

  it("a tenant file's documentation values count on the stacks it is deployed to", () => {
    const dir = tenantsDir({ "zeta.yaml": tenantYaml("zeta") }); // a@zeta.example.com
    const real = project(withRealValues(prodFixture));
    const r = inputs(real, "prod", dir);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatDiagnostic)).toEqual([
      "tenants/zeta.yaml:3:12 access.emails.0: is a placeholder (a name under the documentation domain example.com) on stack prod: put the real value, or deploy it knowingly with `kestra-fleet:allowPlaceholderValues: true` in Pulumi.prod.yaml",
      "tenants/zeta.yaml:5:15 kestra.adminEmail: is a placeholder (a name under the documentation domain example.com) on stack prod: put the real value, or deploy it knowingly with `kestra-fleet:allowPlaceholderValues: true` in Pulumi.prod.yaml",
    ]);
  });

  it("real values: no placeholder at all; a leftover opt-in is pointed out", () => {
    const real = inputs(project(withRealValues(prodFixture)), "prod");
    expect(real.ok).toBe(true);
    if (real.ok) expect(real.inputs.notices.filter((n) => n.kind === "placeholder")).toEqual([]);
    const leftover = inputs(project(withRealValues(prodFixture) + "  kestra-fleet:allowPlaceholderValues: true\n"), "prod");
    expect(leftover.ok && leftover.inputs.warnings).toContain(
      "kestra-fleet:allowPlaceholderValues is true but no placeholder value is left in stack prod: remove it, so that a new one is caught",
    );
  });
});
