/**
 * Entry point wrapper of the Kestra services. Kestra OSS reads secrets from SECRET_<NAME>
 * environment variables holding base64; setting them on the service would show them in
 * `docker service inspect`. Instead each secret is a Swarm secret file
 * /run/secrets/kestra_secret_<NAME>, and this wrapper exports it inside the container only,
 * then hands over to the image's own entry point.
 */
export const ENTRYPOINT_PATH = "/usr/local/bin/kestra-fleet-entrypoint.sh";
export const SECRET_FILE_PREFIX = "kestra_secret_";

export const ENTRYPOINT_SCRIPT = `#!/bin/sh
# kestra-fleet: export Swarm secret files as Kestra SECRET_* variables, then start Kestra.
set -eu
for f in /run/secrets/${SECRET_FILE_PREFIX}*; do
  [ -f "$f" ] || continue
  name="\${f#/run/secrets/${SECRET_FILE_PREFIX}}"
  export "SECRET_\${name}=$(base64 -w 0 < "$f")"
done
exec docker-entrypoint.sh "$@"
`;
