import { T, containerSpec, describe, type ResourceRule } from "../model";

/** Rule 5: every service is bounded, observable and restarted. */
export const serviceResourcesHealth: ResourceRule = {
  kind: "resource",
  name: "service-resources-health",
  description: "Every service has CPU and memory limits, a health check and a restart policy.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service) return;
    const limits = r.props.taskSpec?.resources?.limits ?? {};
    if (!(limits.nanoCpus > 0)) report(`${describe(r)} has no CPU limit: set taskSpec.resources.limits.nanoCpus`);
    if (!(limits.memoryBytes > 0)) report(`${describe(r)} has no memory limit: set taskSpec.resources.limits.memoryBytes`);
    const tests: string[] = containerSpec(r).healthcheck?.tests ?? [];
    if (tests.length === 0 || tests[0] === "NONE") report(`${describe(r)} has no health check: set containerSpec.healthcheck.tests`);
    if (!r.props.taskSpec?.restartPolicy) report(`${describe(r)} has no restart policy: set taskSpec.restartPolicy`);
  },
};
