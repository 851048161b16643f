/** Container image references. Pure, no dependencies: also used by the policy pack. */

/** repository[:tag][@sha256:digest] */
export const IMAGE_RE = /^(?<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+(?=\/))?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

export function imageParts(ref: string): { repo: string; tag?: string; digest?: string } | undefined {
  const m = IMAGE_RE.exec(ref);
  if (!m?.groups) return undefined;
  return { repo: m.groups.repo, tag: m.groups.tag, digest: m.groups.digest };
}


const DATE_STAMP = /(?:^|[^0-9])(?:19|20)[0-9]{2}-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12][0-9]|3[01])(?![0-9])/;

/** Repositories whose releases are numbered major.minor (PostgreSQL since 10): `postgres:18.1` is exact. */
const TWO_PART_RELEASES = new Set(["postgres"]);

/**
 * Why a tag (without digest) floats, or undefined when it names one release. `latest`, a word
 * without any version (`stable`, `alpine`), and a version prefix (`postgres:18`, `traefik:v3.6`,
 * `18-alpine`) all move to new releases under the same name.
 */
export function floatingTagProblem(ref: string): string | undefined {
  const parts = imageParts(ref);
  if (!parts?.tag || parts.digest) return undefined;
  const tag = parts.tag;
  // A build stamped with a date (`18.1-mc2025-08-13`, `RELEASE.2026-09-16T…`, `…-20250813`) names one build.
  if (DATE_STAMP.test(tag)) return undefined;
  if (tag === "latest") return "uses the floating tag 'latest': pin an exact version or a digest";
  const repoName = parts.repo.split("/").pop() ?? parts.repo;
  const needed = TWO_PART_RELEASES.has(repoName) ? 2 : 3;
  const m = /^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?![0-9])/.exec(tag);
  if (m) {
    const given = m.slice(1, 4).filter((x) => x !== undefined).length;
    if (given < needed) {
      const example = `${m[0]}${[".<minor>", ".<patch>"].slice(given - 1, needed - 1).join("")}`;
      return `uses the floating tag '${tag}': it moves to every new ${m[0]}.x release like 'latest'; pin the full version (e.g. ${parts.repo}:${example}) or a digest`;
    }
    return undefined;
  }
  if (!/[0-9]/.test(tag)) return `uses the floating tag '${tag}': it names no version and moves like 'latest'; pin an exact version or a digest`;
  return undefined;
}
