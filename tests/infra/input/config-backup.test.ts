import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configFromStackFile, loadConfig } from "../../../infra/input/config/load";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { FIXTURE_ROOT, tmpDir } from "../../files-root";

const staging = fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "utf8");
const lineOf = (needle: string) => staging.split("\n").findIndex((l) => l.includes(needle)) + 1;

function errors(text: string): string[] {
  const dir = tmpDir("kf-config-");
  fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), text);
  return loadConfig(configFromStackFile(dir, "staging")).errors.map(formatDiagnostic);
}

describe("backup stack config", () => {
  it("defaults: 6h dumps, 1h mirror, 30 days", () => {
    const text = staging.replace(/    interval: 6h\n    mirrorInterval: 1h\n    retentionDays: 30\n/, "");
    expect(text).not.toBe(staging);
    const s = loadConfig(configFromStackFile((() => { const d = tmpDir("kf-config-"); fs.writeFileSync(path.join(d, "Pulumi.staging.yaml"), text); return d; })(), "staging")).config!.settings;
    expect(s.backup).toMatchObject({ interval: "6h", mirrorInterval: "1h", retentionDays: 30 });
  });
  const cases: [string, string, string][] = [
    ["an interval that does not divide a day", staging.replace("    interval: 6h", "    interval: 7h"), `Pulumi.staging.yaml:${lineOf("    interval: 6h")}:15 kestra-fleet:backup.interval: must be between 15m and 24h and divide a day evenly (15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h ...)`],
    ["a too short interval", staging.replace("    interval: 6h", "    interval: 5m"), `Pulumi.staging.yaml:${lineOf("    interval: 6h")}:15 kestra-fleet:backup.interval: must be between 15m and 24h and divide a day evenly (15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h ...)`],
    ["zero retention", staging.replace("retentionDays: 30", "retentionDays: 0"), `Pulumi.staging.yaml:${lineOf("retentionDays: 30")}:20 kestra-fleet:backup.retentionDays: Too small: expected number to be >=1`],
    ["a minio target without its block", staging.replace(/      minio:\n        endpoint: backup.example.net:9000\n/, ""), `Pulumi.staging.yaml:${lineOf("    target:") + 1}:7 kestra-fleet:backup.target.minio: is required when provider is minio`],
    ["the fleet's own MinIO as target", staging.replace("endpoint: backup.example.net:9000", "endpoint: s3-staging.example.com"), `Pulumi.staging.yaml:${lineOf("endpoint: backup.example.net:9000")}:19 kestra-fleet:backup.target.minio.endpoint: is the fleet's own MinIO: backups must live off the storage and data nodes`],
    ["an unknown key", staging.replace("    retentionDays: 30\n", "    retentionDays: 30\n    retention: 3\n"), `Pulumi.staging.yaml:${lineOf("retentionDays: 30") + 1}:5 kestra-fleet:backup.retention: unknown key`],
  ];
  for (const [what, text, expected] of cases) {
    it(`refuses ${what}`, () => {
      const e = errors(text);
      expect(e).toEqual([expected]);
    });
  }
});
