/** Container image references. Pure, no dependencies: also used by the policy pack. */

/** repository[:tag][@sha256:digest] */
export const IMAGE_RE = /^(?<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+(?=\/))?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

export function imageParts(ref: string): { repo: string; tag?: string; digest?: string } | undefined {
  const m = IMAGE_RE.exec(ref);
  if (!m?.groups) return undefined;
  return { repo: m.groups.repo, tag: m.groups.tag, digest: m.groups.digest };
}

