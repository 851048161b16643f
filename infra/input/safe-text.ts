/**
 * Characters no input value of the fleet may hold: control characters (C0 including tab and
 * newline, DEL, C1) and the Unicode bidirectional controls (they make a value read differently
 * from what it is: "Trojan Source"). Every tenant field and every plain stack config value is a
 * single line of text; a newline in one would reach a rendered file, an env var or a label.
 * Pure.
 */

/** C0, DEL, C1, and the bidi embedding/override/isolate/mark characters. */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

const NAMES: Record<number, string> = {
  0x00: "NUL",
  0x09: "TAB",
  0x0a: "LINE FEED",
  0x0b: "VERTICAL TAB",
  0x0c: "FORM FEED",
  0x0d: "CARRIAGE RETURN",
  0x1b: "ESCAPE",
  0x7f: "DELETE",
  0x85: "NEXT LINE",
};

/** `U+000A (LINE FEED)` for the first forbidden character of `s`, else undefined. */
export function forbiddenCharacter(s: string): string | undefined {
  const m = FORBIDDEN.exec(s);
  if (!m) return undefined;
  const code = m[0].codePointAt(0) as number;
  const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
  const name = NAMES[code] ?? (control ? "control character" : "bidirectional control");
  return `${codePoint(m[0])} (${name})`;
}

/** `U+000A` */
export function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The message for a value holding a forbidden character, else undefined. */
export function textProblem(s: string): string | undefined {
  const c = forbiddenCharacter(s);
  return c ? `contains ${c}: values are single-line text without control or bidirectional characters` : undefined;
}

export type TextPath = (string | number)[];

/** Shows `s` with each forbidden character as `\u{XXXX}`: safe to print on a terminal. */
export function escapeForbidden(s: string): string {
  return s.replace(new RegExp(FORBIDDEN.source, "gu"), (c) => `\\u{${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0")}}`);
}

/**
 * Every string (keys included) under `value` holding a forbidden character, with its path (`key`:
 * the key itself is at fault).
 */
export function textProblems(value: unknown, path: TextPath = []): { path: TextPath; message: string; key?: boolean }[] {
  const out: { path: TextPath; message: string; key?: boolean }[] = [];
  const walk = (v: unknown, p: TextPath) => {
    if (typeof v === "string") {
      const m = textProblem(v);
      if (m) out.push({ path: p, message: m });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...p, i]));
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const m = textProblem(k);
        if (m) out.push({ path: [...p, k], message: `key ${m}`, key: true });
        else walk(x, [...p, k]);
      }
    }
  };
  walk(value, path);
  return out;
}
