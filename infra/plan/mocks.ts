/**
 * Pulumi runtime mocks for the offline plan and the tests: deterministic ids and outputs derived
 * from each resource's URN (no randomness, so two plans of the same input are identical), and a
 * record of every registration with the options the SDK sent (protect, retainOnDelete, ignoreChanges,
 * parent, dependencies), which the mocks' own callback does not see.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import { engineUrn } from "./urn";

export interface Registration {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  id?: string;
  parent?: string;
  provider?: string;
  /** Inputs as the monitor received them; secrets keep Pulumi's secret wrapper. */
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  /** Input properties whose changes the engine ignores after creation (sorted). */
  ignoreChanges: string[];
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
}

function h(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The bytes a mocked RandomBytes of that URN returns (tests recompute keyed names with them). */
export function mockRandomBytes(urn: string, length: number): Buffer {
  return Buffer.from(h(urn), "hex").subarray(0, length);
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A password-shaped deterministic string: upper, lower and digit guaranteed. */
function mockPassword(urn: string, length: number): string {
  const bytes = Buffer.from(h(urn) + h(urn + "#2"), "hex");
  let s = "Aa1";
  for (let i = 0; s.length < Math.max(length, 8); i++) s += ALNUM[bytes[i % bytes.length] % ALNUM.length];
  return s.slice(0, Math.max(length, 8));
}

/** Outputs a provider would compute, derived from the URN (the e2e suite gives MinIO users these secrets). */
export function computedOutputs(type: string, urn: string, inputs: Record<string, any>): Record<string, string> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: mockPassword(urn, Number(inputs.length ?? 16)) };
    case "random:index/randomBytes:RandomBytes": {
      const bytes = mockRandomBytes(urn, Number(inputs.length ?? 32));
      return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    case "minio:index/iamUser:IamUser":
      return { secret: mockPassword(`${urn}#secret`, 40) };
    case "aws:iam/accessKey:AccessKey":
      return { secret: mockPassword(`${urn}#secret`, 40) };
    case "aws:iam/policy:Policy":
      return { arn: `arn:aws:iam::000000000000:policy/${inputs.name}` };
    case "aws:s3/bucket:Bucket":
      return { arn: `arn:aws:s3:::${inputs.bucket}` };
    case "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken":
      return { clientId: `${h(urn).slice(0, 32)}.access`, clientSecret: h(`${urn}#secret`) };
    default:
      return {};
  }
}

export function mockId(type: string, name: string, urn: string): string {
  if (type === "aws:iam/accessKey:AccessKey") return `MOCKACCESSKEY${h(urn).slice(0, 8).toUpperCase()}`;
  return `${name}-${h(urn).slice(0, 10)}`;
}

/**
 * Installs the mocks for one run and returns the registrations it records. Call before the
 * program declares anything; drain with `pulumi.runtime.disconnect()` before reading.
 */
export async function installMocks(project: string, stack: string): Promise<Map<string, Registration>> {
  const registrations = new Map<string, Registration>();

  // The mocks' callbacks. Registrations are answered by the monitor below; this one only sees a read
  // of an existing resource (which the program does not do), named by type and name.
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const key = `${args.type}::${args.name}`;
        const id = args.custom === false ? undefined : mockId(args.type, args.name, key);
        return { id, state: { ...args.inputs, ...computedOutputs(args.type, key, args.inputs) } };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    project,
    stack,
    false,
  );

  const monitor = pulumi.runtime.getMonitor() as any;
  // The engine's URNs, not the mock's (which drops all but the parent's last type): every URN the
  // SDK gets back (parents, dependencies, provider references) is then the real one.
  monitor.newUrn = (parent: string, type: string, name: string) => engineUrn(stack, project, parent || undefined, type, name);
  // The mock monitor's registration, answered here with what the SDK's own MockMonitor does (state =
  // the inputs plus the outputs a provider computes, id from mockId), and recorded with the full
  // request (options the mocks' callback does not see). Cheaper for large inputs than the SDK's path,
  // which the plan paid per resource: the inputs are deserialized once (the SDK's monitor did it again
  // for the callback), the response's state is the request's own property struct plus the computed
  // outputs (deserializing and re-serializing the inputs gives back the same struct), and the monitor's
  // table keeps only URN and id (it kept a serialized copy of every resource's state, read only by a
  // `get` of a resource, which the program never does).
  monitor.registerResource = (req: any, callback: (err: unknown, resp?: unknown) => void) => {
    try {
      const type: string = req.getType();
      const name: string = req.getName();
      const parent: string = req.getParent();
      const custom: boolean = req.getCustom();
      const urn: string = monitor.newUrn(parent, type, name);
      const propertyDependencies: Record<string, string[]> = {};
      req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
        propertyDependencies[key] = [...deps.getUrnsList()].sort();
      });
      const object = req.getObject();
      const inputs = pulumi.runtime.deserializeProperties(object) as Record<string, any>;
      const id = custom === false ? undefined : mockId(type, name, urn);
      registrations.set(urn, {
        urn,
        type,
        name,
        custom,
        id,
        parent: parent || undefined,
        provider: req.getProvider() ? String(req.getProvider()).split("::").slice(0, -1).join("::") : undefined,
        inputs,
        protect: req.getProtect() === true,
        retainOnDelete: req.getRetainondelete() === true,
        deleteBeforeReplace: req.getDeletebeforereplace() === true,
        ignoreChanges: [...req.getIgnorechangesList()].sort(),
        dependencies: [...req.getDependenciesList()].sort(),
        propertyDependencies,
      });
      const state = object ?? new structproto.Struct();
      const fields = state.getFieldsMap();
      for (const [k, v] of Object.entries(computedOutputs(type, urn, inputs))) fields.set(k, structproto.Value.fromJavaScript(v as string));
      monitor.resources.set(urn, { urn, id: id ?? null, state: undefined });
      const response = new resproto.RegisterResourceResponse();
      response.setUrn(urn);
      response.setId(id || "");
      response.setObject(state);
      callback(null, response);
    } catch (err) {
      callback(err, undefined);
    }
  };
  // Component outputs are not kept either (same reason).
  monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp?: unknown) => void) => {
    if (!monitor.resources.has(req.getUrn())) callback(new Error(`unknown resource ${req.getUrn()}`), undefined);
    else callback(null, {});
  };
  return registrations;
}
