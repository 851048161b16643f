import { display, servicesOf, type StackRule } from "../model";

const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
const cpus = (n: number) => (n / 1e9).toFixed(2);

/** Rule 15 (advisory): what the services reserve (reservation x replicas) fits the cluster. */
export const capacity: StackRule = {
  kind: "stack",
  name: "capacity",
  description: "CPU and memory reserved by all services (reservation x replicas) fit the cluster capacity (policy config cpus, memoryGb).",
  level: "advisory",
  check(all, report, ctx) {
    if (!ctx.capacity) return;
    let cpu = 0;
    let mem = 0;
    const global: string[] = [];
    for (const s of servicesOf(all)) {
      if (s.props.mode?.global) global.push(display(s));
      const replicas = Number(s.props.mode?.replicated?.replicas ?? 1);
      const r = s.props.taskSpec?.resources?.reservation ?? {};
      cpu += Number(r.nanoCpus ?? 0) * replicas;
      mem += Number(r.memoryBytes ?? 0) * replicas;
    }
    const note = global.length ? ` (global services counted once: ${global.join(", ")})` : "";
    if (cpu > ctx.capacity.nanoCpus) report(`services reserve ${cpus(cpu)} CPUs, the cluster has ${cpus(ctx.capacity.nanoCpus)}${note}: lower reservations or add nodes; tasks beyond capacity stay Pending`);
    if (mem > ctx.capacity.memoryBytes) report(`services reserve ${gib(mem)} GiB of memory, the cluster has ${gib(ctx.capacity.memoryBytes)} GiB${note}: lower reservations or add nodes; tasks beyond capacity stay Pending`);
  },
};
