/**
 * Shared by the alert-rule tests (backup, mirror, lifecycle): a free loopback port, and `promtool test
 * rules` on the program's rendered rules with one test of input series and the expected alerts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { stringify } from "yaml";
import { alertRules, renderAlertRules } from "../../../infra/render/monitoring";
import { tmpDir } from "../../files";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RuleEval {
  at: string;
  alert: string;
  firing: Record<string, string>[];
  value?: string;
}

/** Runs `promtool test rules` (the binary at `promtool`) on the rendered rules: `series` in, each eval's alerts exactly. */
export function promtoolRuleTest(promtool: string, series: { series: string; values: string }[], evals: RuleEval[]): { status: number | null; out: string } {
  const dir = tmpDir("kf-rules-");
  fs.writeFileSync(path.join(dir, "rules.yml"), renderAlertRules());
  // promtool compares annotations too: the rule's templates with the labels and the value's text.
  const annotations = (alert: string, labels: Record<string, string>, value = "") =>
    Object.fromEntries(
      Object.entries(alertRules().find((r) => r.alert === alert)!.annotations).map(([k, v]) => [
        k,
        v.replace(/\{\{ \$value \| \w+ \}\}/g, value).replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? ""),
      ]),
    );
  const alert_rule_test = evals.map((e) => ({ eval_time: e.at, alertname: e.alert, exp_alerts: e.firing.map((l) => ({ exp_labels: l, exp_annotations: annotations(e.alert, l, e.value) })) }));
  fs.writeFileSync(path.join(dir, "tests.yml"), stringify({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests: [{ interval: "1m", input_series: series, alert_rule_test }] }));
  const r = spawnSync(promtool, ["test", "rules", "tests.yml"], { cwd: dir, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}
