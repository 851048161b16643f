import { services, type StackRule } from "../model";

/** Rule 15 (advisory): what the services reserve fits the cluster. */
export const capacity: StackRule = {
  kind: "stack",
  name: "capacity",
  description: "CPU and memory reserved by all services fit the cluster capacity in stack config.",
  level: "advisory",
  check(all, report, ctx) {
    if (!ctx.capacity) return;
    let cpu = 0;
    let mem = 0;
    for (const s of services(all)) {
      const replicas = s.props.mode?.replicated?.replicas ?? 1;
      const r = s.props.taskSpec?.resources?.reservation ?? {};
      cpu += (r.nanoCpus ?? 0) * replicas;
      mem += (r.memoryBytes ?? 0) * replicas;
    }
    const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
    if (cpu > ctx.capacity.nanoCpus) report(`services reserve ${(cpu / 1e9).toFixed(2)} CPUs, the cluster has ${(ctx.capacity.nanoCpus / 1e9).toFixed(2)}`);
    if (mem > ctx.capacity.memoryBytes) report(`services reserve ${gib(mem)} GiB of memory, the cluster has ${gib(ctx.capacity.memoryBytes)} GiB`);
  },
};
