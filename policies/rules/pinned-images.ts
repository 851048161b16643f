import { imageParts } from "../../infra/images";
import { T, containerSpec, describe, type ResourceRule } from "../model";

/** Rule 6: the same plan always runs the same bits. */
export const pinnedImages: ResourceRule = {
  kind: "resource",
  name: "pinned-images",
  description: "Every image is pinned: a tag other than latest, or a digest.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service) return;
    const image = containerSpec(r).image;
    const parts = typeof image === "string" ? imageParts(image) : undefined;
    if (!parts) report(`${describe(r)} has no valid image reference: ${String(image)}`);
    else if (parts.digest) return;
    else if (!parts.tag) report(`${describe(r)} runs ${image} without a tag: pin an exact tag or a digest`);
    else if (parts.tag === "latest") report(`${describe(r)} runs ${image}: 'latest' floats; pin an exact tag or a digest`);
  },
};
