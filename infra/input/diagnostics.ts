/**
 * Validation problems, each tied to a file, a position and a field path, printed one a line as
 * `<file>:<line>:<col> <field.path>: <message>`.
 */
import { escapeForbidden } from "./safe-text";

export interface Diagnostic {
  /** Path as the operator knows it, relative to the project root (e.g. `tenants/acme.yaml`). */
  file: string;
  line?: number;
  col?: number;
  /** Dotted field path (`access.emails.0`), or a config key (`kestra-fleet:images.kestra`). */
  field: string;
  message: string;
}

/** One line; control and bidirectional characters from the input are shown escaped, never printed. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line !== undefined ? `${d.file}:${d.line}:${d.col ?? 1}` : d.file;
  return escapeForbidden(`${where} ${d.field || "(file)"}: ${d.message}`);
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0) ||
      a.field.localeCompare(b.field) ||
      a.message.localeCompare(b.message),
  );
}

/** Thrown when inputs are invalid: carries every problem found, nothing has been declared. */
export class InvalidInputError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(sortDiagnostics(diagnostics).map(formatDiagnostic).join("\n"));
    this.name = "InvalidInputError";
  }
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return bestDist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
