/** Stack config of the monitoring stack: defaults, required keys while on, the receiver's secret. */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { configFromRuntime, configFromStackFile, loadConfig, placeholder } from "../../../infra/input/config/load";
import { formatDiagnostic } from "../../../infra/input/diagnostics";
import { FIXTURE_ROOT, tmpDir } from "../../files-root";

const staging = fs.readFileSync(path.join(FIXTURE_ROOT, "Pulumi.staging.yaml"), "utf8");
const MONITORING_BLOCK = /  kestra-fleet:monitoring:\n(    .*\n|      .*\n)+/;

function load(text: string) {
  const dir = tmpDir("kf-config-");
  fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), text);
  return loadConfig(configFromStackFile(dir, "staging"));
}
const errors = (text: string) => load(text).errors.map(formatDiagnostic);

describe("monitoring stack config", () => {
  it("the fixture is on, with its node, retention and e-mail receiver", () => {
    const s = load(staging).config!.settings;
    expect(s.monitoring).toEqual({ enabled: true, node: "swarm-node-2", grafanaHost: "grafana-staging.example.com", retention: "30d", proxyMetricsSubnet: "10.254.254.0/26", alerts: { receiver: "email", to: "ops@example.com", from: "alertmanager@example.com", smarthost: "smtp.example.com:587" } });
  });

  it("is on by default: without the key, the receiver is required, naming the file and the key", () => {
    expect(errors(staging.replace(MONITORING_BLOCK, ""))).toEqual([
      expect.stringMatching(/^Pulumi\.staging\.yaml(:\d+:\d+)? kestra-fleet:monitoring\.alerts: is required while monitoring is on/),
      expect.stringMatching(/^Pulumi\.staging\.yaml(:\d+:\d+)? kestra-fleet:monitoring\.grafanaHost: is required while monitoring is on/),
    ]);
  });

  it("while on, every monitoring image is required and pinned by tag and digest", () => {
    const out = errors(staging.replace(/    cadvisor: .*\n/, "").replace(/(    prometheus: prom\/prometheus:v3\.5\.0)@sha256:[0-9a-f]+/, "$1"));
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/kestra-fleet:images\.cadvisor: is required while monitoring is on/),
        expect.stringMatching(/kestra-fleet:images\.prometheus: must be pinned by tag and digest/),
      ]),
    );
  });

  it("off: neither images nor a receiver are needed", () => {
    const text = staging.replace(MONITORING_BLOCK, "  kestra-fleet:monitoring:\n    enabled: false\n").replace(/    (prometheus|alertmanager|nodeExporter|cadvisor|grafana): .*\n/g, "");
    expect(errors(text)).toEqual([]);
    expect(load(text).config!.settings.monitoring.enabled).toBe(false);
  });

  it("refuses a bad retention at its line, an unknown node, a Grafana host outside the zone", () => {
    expect(errors(staging.replace("retention: 30d", "retention: forever"))).toEqual([
      expect.stringMatching(/^Pulumi\.staging\.yaml:\d+:\d+ kestra-fleet:monitoring\.retention: is not a retention such as 30d/),
    ]);
    expect(errors(staging.replace("    node: swarm-node-2\n    grafanaHost", "    node: swarm-node-9\n    grafanaHost"))).toEqual([
      expect.stringMatching(/kestra-fleet:monitoring\.node: node "swarm-node-9" has no Docker endpoint in swarm\.nodes/),
    ]);
    expect(errors(staging.replace("grafanaHost: grafana-staging.example.com", "grafanaHost: grafana.example.org"))).toEqual([
      expect.stringMatching(/kestra-fleet:monitoring\.grafanaHost: is outside the Cloudflare zone example\.com/),
    ]);
  });

  it("proxyMetricsSubnet: defaults to 10.254.254.0/26; another range is taken; a bad one is refused at its line", () => {
    const withSubnet = (v: string) => staging.replace("    retention: 30d\n", `    retention: 30d\n    proxyMetricsSubnet: ${JSON.stringify(v)}\n`);
    expect(load(withSubnet("10.200.0.0/24")).config!.settings.monitoring.proxyMetricsSubnet).toBe("10.200.0.0/24");
    expect(errors(withSubnet("10.254.254.5/26"))).toEqual([expect.stringMatching(/^Pulumi\.staging\.yaml:\d+:\d+ kestra-fleet:monitoring\.proxyMetricsSubnet: is not a network address: write 10\.254\.254\.0\/26/)]);
    expect(errors(withSubnet("10.0.0.0/8"))).toEqual([expect.stringMatching(/monitoring\.proxyMetricsSubnet: must be a \/16 to \/28 range/)]);
    expect(errors(withSubnet("10.254.254.0/30"))).toEqual([expect.stringMatching(/monitoring\.proxyMetricsSubnet: must be a \/16 to \/28 range/)]);
    expect(errors(withSubnet("fd00::/64"))).toEqual([expect.stringMatching(/monitoring\.proxyMetricsSubnet: is not an IPv4 CIDR range/)]);
    expect(errors(withSubnet("net_monitoring"))).toEqual([expect.stringMatching(/monitoring\.proxyMetricsSubnet: is not an IPv4 CIDR range/)]);
  });

  it("a webhook receiver needs alertReceiverSecret: a placeholder offline, an error in a real run", () => {
    const webhook = staging.replace(/    alerts:\n(      .*\n)+/, "    alerts:\n      receiver: webhook\n");
    expect(load(webhook).config!.secrets.alertReceiverSecret).toBe(placeholder("alertReceiverSecret"));
    const all: Record<string, string> = {};
    const runtime = load(webhook).config!.settings;
    for (const [k, v] of Object.entries(runtime)) all[`kestra-fleet:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    all["kestra-fleet:cloudflareApiToken"] = "t";
    all["kestra-fleet:acmeDnsApiToken"] = "t";
    all["kestra-fleet:backupEscrowPassphrase"] = "escrow-passphrase-0123456789";
    all["kestra-fleet:backupTargetUser"] = "admin";
    all["kestra-fleet:backupTargetPassword"] = "pw";
    const secretKeys = ["kestra-fleet:cloudflareApiToken", "kestra-fleet:acmeDnsApiToken", "kestra-fleet:backupEscrowPassphrase", "kestra-fleet:backupTargetUser", "kestra-fleet:backupTargetPassword"];
    const missing = loadConfig(configFromRuntime(all, secretKeys));
    expect(missing.errors.map((e) => `${e.field}: ${e.message}`)).toEqual([expect.stringMatching(/^kestra-fleet:alertReceiverSecret: is required by monitoring\.alerts \(the webhook URL\)/)]);
    const ok = loadConfig(configFromRuntime({ ...all, "kestra-fleet:alertReceiverSecret": "https://hooks.example.com/x" }, [...secretKeys, "kestra-fleet:alertReceiverSecret"]));
    expect(ok.errors).toEqual([]);
    expect(ok.config!.secrets.alertReceiverSecret).toBe("https://hooks.example.com/x");
  });
});
