import { T, containerSpec, describe, type ResourceRule } from "../model";

export const CREDENTIAL_NAME = /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|_KEY|APIKEY|ACCESS_KEY)/i;

/** Rule 7: `docker service inspect` shows environment, labels and arguments to anyone with API access. */
export const noSecretEnv: ResourceRule = {
  kind: "resource",
  name: "no-secret-env",
  description: "No credential-looking environment variable (except *_FILE pointers) and no Pulumi secret in a service spec.",
  level: "mandatory",
  check(r, report) {
    if (r.type !== T.service) return;
    for (const name of Object.keys(containerSpec(r).env ?? {})) {
      if (CREDENTIAL_NAME.test(name) && !name.endsWith("_FILE")) {
        report(`${describe(r)} sets ${name} in its environment: deliver the value as a Swarm secret file and point ${name}_FILE at it`);
      }
    }
    for (const input of ["taskSpec", "labels", "name", "endpointSpec"]) {
      if (r.secretInputs.includes(input)) report(`${describe(r)} has a Pulumi secret inside ${input}: docker service inspect would show it; use a Swarm secret`);
    }
  },
};
