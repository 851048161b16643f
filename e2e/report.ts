/** The suite's log lines (seconds since start) and its results: each check passes or fails once. */
export const t0 = Date.now();
export const log = (s: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}`);
export const results: { name: string; ok: boolean }[] = [];
export function check(name: string, ok: boolean, detail = ""): boolean {
  results.push({ name, ok });
  log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
  return ok;
}
