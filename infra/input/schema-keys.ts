/** The keys a zod object schema allows at a path, for "did you mean" hints on unknown keys. */
import type { z } from "zod";

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; valueType?: z.ZodType; element?: z.ZodType };

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** Unwraps optional/default/pipe layers down to the schema that validates the value. */
function core(s: z.ZodType): z.ZodType {
  for (let d = defOf(s); ; d = defOf(s)) {
    const next = d.innerType ?? (d.type === "pipe" ? d.in : undefined);
    if (!next) return s;
    s = next;
  }
}

export function schemaKeysAt(schema: z.ZodType, path: readonly (string | number)[]): readonly string[] {
  let s = core(schema);
  for (const seg of path) {
    const d = defOf(s);
    let next: z.ZodType | undefined;
    if (d.type === "object") next = d.shape?.[String(seg)];
    else if (d.type === "record") next = d.valueType;
    else if (d.type === "array") next = d.element;
    if (!next) return [];
    s = core(next);
  }
  const d = defOf(s);
  return d.type === "object" && d.shape ? Object.keys(d.shape) : [];
}
