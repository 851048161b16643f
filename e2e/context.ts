/**
 * What every step of the suite shares: its work directory, the Docker client of its engine, the plan
 * of the fixture project with its stacks, and what it created (removed at clean-up).
 */
import * as path from "path";
import type { Plan } from "../infra/plan/run";
import type { Docker } from "./docker";
import type { stacksOf } from "./plan";

export const WORK = path.resolve(process.env.KESTRA_FLEET_E2E_DIR ?? "/var/tmp/kestra-fleet-e2e");
export const KEEP_IMAGES = process.env.KESTRA_FLEET_E2E_KEEP_IMAGES === "1";

export type Stacks = ReturnType<typeof stacksOf>;

/** Stacks deployed and Swarm objects created by this run; images built; whether it initialised the swarm. */
export interface State {
  stacks: string[];
  created: { kind: string; name: string }[];
  builtImages: boolean;
  swarmInit: boolean;
}

/** The deployed fixture: its first plan, `--out` folder and stacks. */
export interface Suite {
  d: Docker;
  hostname: string;
  plan: Plan;
  out: string;
  stacks: Stacks;
  tenantStacks: string[];
  /** The stacks the first deployment deployed, in order. */
  deployed: string[];
  state: State;
  /** Logs the disk used under WORK and keeps the peak. */
  peak: (when: string) => void;
}

export const tenantOf = (stacks: Stacks, stack: string) => stacks.get(stack)![0].tenant!;
