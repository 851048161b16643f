/** The repository root, without loading the Pulumi program. */
import * as path from "path";
export const ROOT = path.resolve(__dirname, "..");
export { tmpDir } from "./files";
