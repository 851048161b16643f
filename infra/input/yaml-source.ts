/**
 * A YAML file parsed with positions, and the mapping from zod issues to `file:line:col field`
 * diagnostics. Used for tenant files and for the stack config file.
 */
import * as fs from "fs";
import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { z } from "zod";
import { closest, type Diagnostic } from "./diagnostics";

export type PathSegment = string | number;

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

/**
 * Reads a YAML file within bounds, as an attacker's file must be read: at most `maxBytes` (checked
 * before reading), valid UTF-8 (the first bad byte is reported at its line and column), then
 * parsed by `parseYaml`. Never throws for a file's content; an unreadable file is a diagnostic too.
 */
export function readYamlFile(
  absPath: string,
  file: string,
  opts: { maxBytes: number; what: string },
): { source?: YamlSource; text?: string; errors: Diagnostic[] } {
  const at1 = { file, line: 1, col: 1, field: "" };
  let bytes: Buffer;
  try {
    const size = fs.statSync(absPath).size;
    if (size > opts.maxBytes) {
      return { errors: [{ ...at1, message: `file is ${size} bytes, over the ${opts.maxBytes}-byte limit of ${opts.what}` }] };
    }
    bytes = fs.readFileSync(absPath);
  } catch (e) {
    return { errors: [{ file, field: "", message: `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }] };
  }
  const decoded = decodeUtf8(bytes);
  if ("bad" in decoded) {
    return { errors: [{ file, ...decoded.bad, field: "", message: "is not valid UTF-8 text: save the file as UTF-8" }] };
  }
  const { source, errors } = parseYaml(file, decoded.text);
  return { source, text: decoded.text, errors };
}

/** Strict UTF-8 decoding; on failure, the line and column of the first invalid byte. */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { bad: { line: number; col: number } } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    // Replacement decoding keeps every valid character at its byte offset: the first U+FFFD that
    // is not an encoded U+FFFD in the file marks the first invalid byte.
    const loose = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes);
    let offset = 0;
    let line = 1;
    let col = 1;
    for (const ch of loose) {
      if (ch === "\uFFFD" && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) break;
      offset += Buffer.byteLength(ch, "utf8");
      if (ch === "\n") {
        line++;
        col = 1;
      } else col++;
    }
    return { bad: { line, col } };
  }
}

/**
 * Parses YAML text; syntax errors and duplicate keys come back as diagnostics. Anchors and
 * aliases are refused: the fleet's files never need them, and aliases are how a small file expands
 * into an enormous value (the "billion laughs" attack).
 */
export function parseYaml(file: string, text: string): { source: YamlSource; errors: Diagnostic[] } {
  const lineCounter = new LineCounter();
  // Duplicate keys are found below in one pass: the parser's own check compares every key with
  // every other (seconds for a file of junk keys).
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, strict: true });
  const source = { file, doc, lineCounter };
  const errors: Diagnostic[] = doc.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return { file, line: pos.line, col: pos.col, field: "", message: `YAML syntax error: ${firstLine(e.message)}` };
  });
  if (!errors.length) {
    for (const dup of duplicateKeys(doc.contents, [])) {
      const pos = rangeStart(source, dup.node) ?? { line: 1, col: 1 };
      errors.push({ file, ...pos, field: dotted(dup.path), message: "duplicate key: each key may appear once in a mapping" });
    }
  }
  if (!errors.length) {
    const found = firstAnchorOrAlias(doc.contents, []);
    if (found) {
      // An anchor is pointed at where `&name` is written (the node's range starts after it).
      const start = found.node.range?.[0] ?? 0;
      const anchorAt = found.alias ? -1 : text.lastIndexOf(`&${found.node.anchor}`, start);
      const pos = lineCounter.linePos(anchorAt >= 0 ? anchorAt : start);
      const what = found.alias ? "an alias (*name)" : "an anchor (&name)";
      errors.push({ file, ...pos, field: dotted(found.path), message: `YAML anchors and aliases are not accepted, found ${what}: write each value out in full` });
    }
  }
  return { source, errors };
}

/** Keys repeated within one mapping (compared as written scalars), anywhere in the document. */
function duplicateKeys(node: unknown, path: PathSegment[]): { node: Node; path: PathSegment[] }[] {
  const out: { node: Node; path: PathSegment[] }[] = [];
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key !== undefined) {
        if (seen.has(key)) out.push({ node: pair.key as Node, path: [...path, key] });
        seen.add(key);
      }
      out.push(...duplicateKeys(pair.value, [...path, key ?? ""]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => out.push(...duplicateKeys(item, [...path, i])));
  }
  return out;
}

/** The first node (document order) that is an alias or carries an anchor, with its field path. */
function firstAnchorOrAlias(node: unknown, path: PathSegment[]): { node: Node; path: PathSegment[]; alias: boolean } | undefined {
  if (isAlias(node)) return { node, path, alias: true };
  if (node && typeof node === "object" && (node as Node).anchor) return { node: node as Node, path, alias: false };
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const hit = firstAnchorOrAlias(pair.key, [...path, key]) ?? firstAnchorOrAlias(pair.value, [...path, key]);
      if (hit) return hit;
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const hit = firstAnchorOrAlias(node.items[i], [...path, i]);
      if (hit) return hit;
    }
  }
  return undefined;
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
  opts: { base?: PathSegment[]; fieldPrefix?: string; knownKeys?: (path: PathSegment[]) => readonly string[]; limit?: number } = {},
): Diagnostic[] {
  const limit = opts.limit ?? Infinity;
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
        if (out.length >= limit) return out;
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
    if (out.length >= limit) return out;
    const pos = positionOf(src, [...base, ...path]);
    out.push({ file: src.file, ...pos, field: name(path), message: issue.message });
  }
  return out;
}

/** Number of problems a zod error holds (each unknown key counts). */
export function issueCount(error: z.ZodError): number {
  return error.issues.reduce((n, i) => n + (i.code === "unrecognized_keys" ? i.keys.length : 1), 0);
}

/**
 * Parse options for every schema: a missing field reads "is required", and values are never
 * echoed in messages (config secrets go through the same schemas).
 */
export const PARSE_OPTIONS = {
  error: (iss: { code?: string; input?: unknown }) =>
    iss.code === "invalid_type" && iss.input === undefined ? "is required" : undefined,
};
