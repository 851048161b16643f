/**
 * What the engine is built from. Every version comes from package-lock.json: the CLI and the
 * language host follow @pulumi/pulumi, each resource plugin follows its @pulumi/NAME package.
 * Only module paths and build tags are written here (they do not change with a version bump
 * inside one major version).
 */
import * as fs from "fs";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..");

/** Provider plugins the program uses, with the Go module their upstream builds them from. */
export interface PluginSpec {
  /** Plugin name, as in `pulumi plugin install resource NAME`. */
  name: string;
  /** npm package whose locked version is the plugin's version. */
  npm: string;
  /** Go module (path inside the provider's repository: provider/) and its main package. */
  module: string;
  mainPackage: string;
  tags?: string[];
  /** Set when the plugin is deliberately not built here: why. */
  notBuilt?: string;
}

export const PLUGINS: PluginSpec[] = [
  { name: "random", npm: "@pulumi/random", module: "github.com/pulumi/pulumi-random/provider/v4", mainPackage: "cmd/pulumi-resource-random" },
  { name: "minio", npm: "@pulumi/minio", module: "github.com/pulumi/pulumi-minio/provider", mainPackage: "cmd/pulumi-resource-minio" },
  { name: "docker", npm: "@pulumi/docker", module: "github.com/pulumi/pulumi-docker/provider/v5", mainPackage: "cmd/pulumi-resource-docker", tags: ["no_compose"] },
  { name: "postgresql", npm: "@pulumi/postgresql", module: "github.com/pulumi/pulumi-postgresql/provider/v3", mainPackage: "cmd/pulumi-resource-postgresql" },
  { name: "cloudflare", npm: "@pulumi/cloudflare", module: "github.com/pulumi/pulumi-cloudflare/provider/v6", mainPackage: "cmd/pulumi-resource-cloudflare" },
  {
    name: "aws",
    npm: "@pulumi/aws",
    module: "github.com/pulumi/pulumi-aws/provider/v7",
    mainPackage: "cmd/pulumi-resource-aws",
    notBuilt: "not built here: its build needs far more than 2 cores (upstream uses 8-core runners for over two hours). A stack that uses no AWS storage or backups registers no aws resource and previews without it.",
  },
];

export const CLI_MODULE = "github.com/pulumi/pulumi/pkg/v3";
export const SDK_MODULE = "github.com/pulumi/pulumi/sdk/v3";
export const CLI_PACKAGE = `${CLI_MODULE}/cmd/pulumi`;
/** The variable the CLI and the plugins print as their version. */
export const VERSION_VAR = `${SDK_MODULE}/go/common/version.Version`;

/** Exact versions pinned by a package-lock.json (default: the repository's). */
export function lockedVersion(pkg: string, lockFile = path.join(ROOT, "package-lock.json")): string {
  const lock = JSON.parse(fs.readFileSync(lockFile, "utf8")) as { packages?: Record<string, { version?: string }> };
  const v = lock.packages?.[`node_modules/${pkg}`]?.version;
  if (!v) throw new Error(`${pkg} is not in ${path.relative(process.cwd(), lockFile) || lockFile}: run npm install ${pkg} first`);
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`${pkg} is locked at ${v}, not an exact release version`);
  return v;
}

export interface EngineVersions {
  /** The CLI and language host version, without the leading v (the @pulumi/pulumi version). */
  pulumi: string;
  plugins: (PluginSpec & { version: string })[];
}

export function engineVersions(lockFile?: string): EngineVersions {
  return {
    pulumi: lockedVersion("@pulumi/pulumi", lockFile),
    plugins: PLUGINS.map((p) => ({ ...p, version: lockedVersion(p.npm, lockFile) })),
  };
}
