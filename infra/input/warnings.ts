/**
 * Plan warnings, structured for `--json` (one object per warning, fixed key order) and printed one
 * a line in text mode (`message`).
 */
export type PlanWarning =
  /** Anything else the inputs raise (certificate coverage, Cloudflare limits, hidden files, …). */
  | { kind: "general"; message: string }
  /** A documentation value (example.com, 192.0.2.0/24, a sample id) in a stack's inputs. */
  | { kind: "placeholder"; stack: string; tenant: string | null; file: string; line: number | null; col: number | null; field: string; message: string }
  /** A credential `pulumi up` needs that Pulumi.<stack>.yaml does not hold, and how to set it. */
  | { kind: "credential"; stack: string; tenant: string | null; key: string; command: string; message: string };

export function generalWarning(message: string): PlanWarning {
  return { kind: "general", message };
}
