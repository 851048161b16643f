import { containerSpecOf, display, isService, type ResourceRule } from "../model";

/** Words that make an environment variable's name look like a credential. */
const CREDENTIAL_WORDS = ["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE", "APIKEY", "ACCESSKEY", "SECRETKEY", "AUTHKEY"];

/** True when an environment variable's name looks like it holds a credential. */
export function looksLikeCredential(name: string): boolean {
  const upper = name.toUpperCase();
  if (CREDENTIAL_WORDS.some((w) => upper.includes(w))) return true;
  // KEY as a word of the name (AWS_ACCESS_KEY_ID, API_KEY, ENCRYPTION_KEY, KEYS), not MONKEY or KEYCLOAK.
  return upper.split(/[^A-Z0-9]+/).some((part) => part === "KEY" || part === "KEYS" || part === "PWD" && upper !== "PWD");
}

/** `scheme://user:password@host`: a credential in a URL. */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;

/** Inputs of a service that may legitimately hold a Pulumi secret: registry auth is not part of the spec. */
const SECRET_INPUTS_ALLOWED = ["auth"];

/**
 * Rule 7: `docker service inspect` shows a service's environment, labels and arguments to anyone with
 * API access: credentials go in Swarm secrets, read through `*_FILE` variables.
 */
export const noSecretEnv: ResourceRule = {
  kind: "resource",
  name: "no-secret-env",
  description: "No credential-looking environment variable (except *_FILE pointers), no password in a URL, and no Pulumi secret inside a service spec.",
  level: "mandatory",
  check(r, report) {
    if (!isService(r)) return;
    const env: Record<string, unknown> = containerSpecOf(r).env ?? {};
    for (const [name, value] of Object.entries(env)) {
      if (!name.toUpperCase().endsWith("_FILE") && looksLikeCredential(name)) {
        report(`${display(r)} sets ${name} in its environment: deliver the value as a Swarm secret and point ${name}_FILE at the mounted file`);
      } else if (typeof value === "string" && URL_WITH_PASSWORD.test(value)) {
        report(`${display(r)} sets ${name} to a URL with a password: move the credential into a Swarm secret`);
      }
    }
    for (const input of r.secretInputs) {
      if (!SECRET_INPUTS_ALLOWED.includes(input)) {
        report(`${display(r)} has a Pulumi secret inside its ${input} input: docker service inspect would show it; put the value in a docker.Secret and mount it`);
      }
    }
  },
};
