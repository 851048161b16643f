import { containerSpecOf, display, isService, type ResourceRule } from "../model";

/** Rule 5: every service is bounded, observed and restarted. */
export const serviceResourcesHealth: ResourceRule = {
  kind: "resource",
  name: "service-resources-health",
  description: "Every service has CPU and memory limits, a health check and a restart policy.",
  level: "mandatory",
  check(r, report) {
    if (!isService(r)) return;
    const limits = r.props.taskSpec?.resources?.limits ?? {};
    if (!(Number(limits.nanoCpus) > 0)) report(`${display(r)} has no CPU limit: set taskSpec.resources.limits.nanoCpus`);
    if (!(Number(limits.memoryBytes) > 0)) report(`${display(r)} has no memory limit: set taskSpec.resources.limits.memoryBytes`);
    const tests: unknown[] = containerSpecOf(r).healthcheck?.tests ?? [];
    if (tests.length === 0 || tests[0] === "NONE") report(`${display(r)} has no health check: set taskSpec.containerSpec.healthcheck.tests (not NONE)`);
    const restart = r.props.taskSpec?.restartPolicy;
    if (!restart) report(`${display(r)} has no restart policy: set taskSpec.restartPolicy`);
    else if (restart.condition === "none") report(`${display(r)} has restart condition "none": failed tasks would stay down; use "any" or "on-failure"`);
  },
};
