/** The deploy guard on hand-made `pulumi preview --json` documents (the engine's previewDigest shape). */
import { describe, expect, it } from "vitest";
import { guardPreview, previewProblem, type PreviewStep } from "../../../infra/tools/guard";

const VOL = "urn:pulumi:prod::kestra-fleet::kestra-fleet:stacks:TenantStack$docker:index/volume:Volume::acme-pg18-volume";
const PG = "urn:pulumi:prod::kestra-fleet::kestra-fleet:stacks:TenantStack$docker:index/service:Service::acme-postgres";

const volume = (protect: boolean) => ({ urn: VOL, type: "docker:index/volume:Volume", protect, inputs: { name: "pg_acme_data" } });
const pg = (image: string) => ({
  urn: PG,
  type: "docker:index/service:Service",
  protect: false,
  inputs: { name: "kestra_acme_postgres", labels: [{ label: "kestra-fleet.role", value: "postgres" }], taskSpec: { containerSpec: { image } } },
});

describe("deploy guard", () => {
  it("passes a preview with only creates, in-place updates and a minor Postgres bump", () => {
    const steps: PreviewStep[] = [
      { op: "create", urn: VOL, newState: volume(true) },
      { op: "update", urn: PG, oldState: pg("postgres:18.1"), newState: pg("postgres:18.2") },
      { op: "same", urn: VOL, oldState: volume(true), newState: volume(true) },
    ];
    expect(guardPreview({ steps })).toEqual([]);
    expect(guardPreview({})).toEqual([]);
  });

  it("stops a delete or replacement of a protected resource, naming the replace reasons", () => {
    expect(guardPreview({ steps: [{ op: "delete", urn: VOL, oldState: volume(true) }] })).toEqual([
      { urn: VOL, op: "delete", reason: expect.stringMatching(/^deletes a protected resource; see docs\/operations.md#offboarding-a-client/) },
    ]);
    const r = guardPreview({ steps: [{ op: "replace", urn: VOL, oldState: volume(true), newState: volume(true), replaceReasons: ["driver"] }] });
    expect(r[0].reason).toMatch(/^replaces a protected resource \(replaced because: driver\)/);
  });

  it("stops the delete of a stateful resource someone unprotected, but not of a stateless one", () => {
    expect(guardPreview({ steps: [{ op: "delete-replaced", urn: VOL, oldState: volume(false) }] })[0].reason).toMatch(/stateful resource that is not protected/);
    const secret = { urn: "urn:x$docker:index/secret:Secret::s", type: "docker:index/secret:Secret", protect: false };
    expect(guardPreview({ steps: [{ op: "delete", urn: secret.urn, oldState: secret }] })).toEqual([]);
  });

  it("stops a replacement of a tenant's database password even when someone unprotected it; the admin password is a routine rotation", () => {
    const DBPW = "urn:pulumi:prod::kestra-fleet::kestra-fleet:stacks:TenantStack$random:index/randomPassword:RandomPassword::acme-db-password";
    const ADMIN = "urn:pulumi:prod::kestra-fleet::kestra-fleet:stacks:TenantStack$random:index/randomPassword:RandomPassword::acme-admin-password";
    const pw = (urn: string, protect: boolean, length: number) => ({ urn, type: "random:index/randomPassword:RandomPassword", protect, inputs: { length, special: false } });
    for (const protect of [true, false]) {
      const f = guardPreview({ steps: [{ op: "replace", urn: DBPW, oldState: pw(DBPW, protect, 32), newState: pw(DBPW, protect, 40), replaceReasons: ["length"] }] });
      expect(f).toEqual([{ urn: DBPW, op: "replace", reason: expect.stringMatching(/^replaces the tenant's database password \(length\): Postgres keeps the old one .*docs\/operations.md#database-password$/) }]);
    }
    expect(guardPreview({ steps: [{ op: "create-replacement", urn: DBPW, oldState: pw(DBPW, false, 32), newState: pw(DBPW, false, 40) }] })).toHaveLength(1);
    expect(guardPreview({ steps: [{ op: "replace", urn: ADMIN, oldState: pw(ADMIN, false, 24), newState: pw(ADMIN, false, 24) }] })).toEqual([]);
  });

  it("stops a Postgres major change by tag alone", () => {
    const f = guardPreview({ steps: [{ op: "update", urn: PG, oldState: pg("postgres:17.6"), newState: pg("postgres:18.1") }] });
    expect(f).toHaveLength(1);
    expect(f[0].reason).toMatch(/from major 17 to 18 .*upgrading-postgres-across-a-major-version/);
  });

  it("names malformed input", () => {
    expect(previewProblem([])).toMatch(/expected an object/);
    expect(previewProblem({ steps: {} })).toBe("`steps` must be a list");
    expect(previewProblem({ steps: [{ op: "delete" }] })).toBe("steps[0] needs op and urn");
    expect(previewProblem({ changeSummary: {} })).toBeUndefined();
  });
});
