/**
 * A YAML file parsed with positions, and the mapping from zod issues to `file:line:col field`
 * diagnostics. Used for tenant files and for the stack config file.
 */
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { z } from "zod";
import { closest, type Diagnostic } from "./diagnostics";

export type PathSegment = string | number;

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

/** Parses YAML text; syntax errors (including duplicate keys) come back as diagnostics. */
export function parseYaml(file: string, text: string): { source: YamlSource; errors: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const errors: Diagnostic[] = doc.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    if (e.code === "DUPLICATE_KEY") {
      // Name the repeated key: the text at the error's position, up to its colon.
      const key = /^\s*([^:#\n]+?)\s*:/.exec(text.slice(e.pos[0]))?.[1] ?? "";
      return { file, line: pos.line, col: pos.col, field: key, message: "duplicate key: each key may appear once in a mapping" };
    }
    return { file, line: pos.line, col: pos.col, field: "", message: `YAML syntax error: ${firstLine(e.message)}` };
  });
  return { source: { file, doc, lineCounter }, errors };
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

/**
 * Position of the node at `path`, or of its nearest existing ancestor: a scalar where its value
 * starts, a collection at its key (`opts.key`: always the key).
 */
export function positionOf(src: YamlSource, path: readonly PathSegment[], opts: { key?: boolean } = {}): { line: number; col: number } {
  let node: unknown = src.doc.contents;
  let best: { line: number; col: number } = rangeStart(src, node) ?? { line: 1, col: 1 };
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return best;
      const keyPos = rangeStart(src, pair.key);
      // A scalar is pointed at where its value starts; a block mapping or list at its key.
      if (last && keyPos && (opts.key || !isScalar(pair.value))) return keyPos;
      node = pair.value;
      best = rangeStart(src, node) ?? keyPos ?? best;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg];
      if (item === undefined) return best;
      node = item;
      best = rangeStart(src, node) ?? best;
    } else {
      return best;
    }
  }
  return best;
}

function rangeStart(src: YamlSource, node: unknown): { line: number; col: number } | undefined {
  const range = (node as Node | null | undefined)?.range;
  if (!range) return undefined;
  return src.lineCounter.linePos(range[0]);
}

/** Dotted path for messages: `access.emails.0`. */
export function dotted(path: readonly PathSegment[]): string {
  return path.map(String).join(".");
}

/**
 * Converts zod issues into diagnostics positioned in `src`. `prefix` is prepended to the field path
 * (e.g. the config key), `base` is where the validated value sits in the document.
 */
export function zodDiagnostics(
  src: YamlSource,
  error: z.ZodError,
  opts: { base?: PathSegment[]; fieldPrefix?: string; knownKeys?: (path: PathSegment[]) => readonly string[] } = {},
): Diagnostic[] {
  const base = opts.base ?? [];
  const out: Diagnostic[] = [];
  const name = (p: PathSegment[]) => {
    const d = dotted(p);
    if (!opts.fieldPrefix) return d;
    return d ? `${opts.fieldPrefix}.${d}` : opts.fieldPrefix;
  };
  for (const issue of error.issues) {
    const path = issue.path.filter((s): s is PathSegment => typeof s !== "symbol");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const full = [...path, key];
        const pos = positionOf(src, [...base, ...full], { key: true });
        const hint = opts.knownKeys ? closest(key, opts.knownKeys(path)) : undefined;
        out.push({
          file: src.file,
          ...pos,
          field: name(full),
          message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}`,
        });
      }
      continue;
    }
    const pos = positionOf(src, [...base, ...path]);
    out.push({ file: src.file, ...pos, field: name(path), message: issue.message });
  }
  return out;
}

/**
 * Parse options for every schema: a missing field reads "is required", and values are never
 * echoed in messages (config secrets go through the same schemas).
 */
export const PARSE_OPTIONS = {
  error: (iss: { code?: string; input?: unknown }) =>
    iss.code === "invalid_type" && iss.input === undefined ? "is required" : undefined,
};
