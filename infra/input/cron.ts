/**
 * Validation of the 5-field Unix cron expressions Kestra's Schedule trigger accepts
 * (minute hour day-of-month month day-of-week, plus the @hourly/@daily/... macros).
 * A dozen lines of our own instead of a dependency: general cron libraries also accept
 * Quartz syntax (seconds, L, W, #, ?) that Kestra's Unix cron would reject at load time.
 */
const MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const FIELDS: { name: string; min: number; max: number; names?: string[] }[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day of week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

/** Returns undefined when valid, else what is wrong. */
export function cronProblem(expr: string): string | undefined {
  // The exact string is rendered into the flow: fields are separated by spaces, nothing else.
  const other = /[^\x20-\x7e]/.exec(expr)?.[0];
  if (other !== undefined) {
    return `fields are separated by spaces only: found U+${(other.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0")}`;
  }
  if (expr !== expr.trim()) return "has leading or trailing spaces";
  const trimmed = expr;
  if (MACROS.includes(trimmed)) return undefined;
  const parts = trimmed.split(/ +/);
  if (parts.length !== 5) return `expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @hourly, got ${parts.length} field(s)`;
  for (let i = 0; i < 5; i++) {
    const f = FIELDS[i];
    for (const item of parts[i].split(",")) {
      const problem = itemProblem(item, f);
      if (problem) return `${f.name} "${parts[i]}": ${problem}`;
    }
  }
  return undefined;
}

function itemProblem(item: string, f: (typeof FIELDS)[number]): string | undefined {
  const [range, step, ...rest] = item.split("/");
  if (rest.length > 0) return "more than one '/'";
  if (step !== undefined && !/^[1-9][0-9]*$/.test(step)) return `step "${step}" is not a positive number`;
  if (range === "*") return undefined;
  const bounds = range.split("-");
  if (bounds.length > 2) return `"${range}" is not a value or a range`;
  const values = bounds.map((b) => value(b, f));
  if (values.some((v) => v === undefined)) return `"${range}" is outside ${f.min}-${f.max}`;
  if (values.length === 2 && (values[0] as number) > (values[1] as number)) return `range "${range}" is reversed`;
  return undefined;
}

function value(token: string, f: (typeof FIELDS)[number]): number | undefined {
  if (/^[0-9]+$/.test(token)) {
    const n = Number(token);
    return n >= f.min && n <= f.max ? n : undefined;
  }
  const idx = f.names?.indexOf(token.toUpperCase()) ?? -1;
  return idx >= 0 ? idx + (f.min === 1 ? 1 : 0) : undefined;
}
