#!/bin/sh
# kestra-fleet e2e stand-in for Kestra: a contract checker started by the program's own entry-point
# wrapper (which execs `docker-entrypoint.sh "$@"`). From the --config file it takes the datasource
# URL, user and password and the storage endpoint and port, and checks that
#  - it can log in to that database with them (and records its role there, for the suite);
#  - the storage endpoint (real MinIO) lists its bucket with the config's access and secret key
#    (curl's AWS signature v4);
#  - each SECRET_<NAME> it received is the base64 of /run/secrets/kestra_secret_<NAME>, and each
#    such file has its variable.
# 8080 always answers 200. The management port 8081 serves /health (200 once every check has passed,
# 503 before) and /prometheus (a few metrics naming its server and database, so the suite can tell
# which Kestra a scrape reached). Like Kestra: with `endpoints.all.basic-auth` in the config, every
# management request needs exactly that user and password (HTTP basic auth, 401 otherwise); without
# it, /health is open and /prometheus answers 401 (sensitive).
# It logs names, never values.
set -eu
role="$*"
config=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--config" ] && [ $# -gt 1 ]; then config="$2"; fi
  shift
done
log() { echo "kestra stand-in ($role): $*"; }
[ -n "$config" ] || { log "no --config argument"; exit 64; }
[ -r "$config" ] || { log "cannot read $config"; exit 66; }

# Flattens the rendered YAML (two-space indents, scalar values) to dotted.key=value lines.
get() {
  awk -v want="$1" '
    /^[[:space:]]*(#|-|$)/ { next }
    {
      match($0, /^ */); depth = RLENGTH / 2
      line = substr($0, RLENGTH + 1); i = index(line, ":")
      key[depth] = substr(line, 1, i - 1); value = substr(line, i + 1); sub(/^ +/, "", value)
      path = key[0]; for (d = 1; d <= depth; d++) path = path "." key[d]
      gsub(/^["\047]|["\047]$/, "", value)
      if (path == want) { print value; exit }
    }' "$config"
}

check_secrets() {
  ok=0
  for name in $(env | sed -n 's/^SECRET_\([A-Za-z0-9_]*\)=.*/\1/p'); do
    file="/run/secrets/kestra_secret_$name"
    if [ ! -f "$file" ]; then log "secret $name: no file $file"; ok=1; continue; fi
    if [ "$(printenv "SECRET_$name")" = "$(base64 -w 0 <"$file")" ]; then log "secret $name: matches its file"; else log "secret $name: DIFFERS from its file"; ok=1; fi
  done
  for file in /run/secrets/kestra_secret_*; do
    [ -f "$file" ] || continue
    name="${file#/run/secrets/kestra_secret_}"
    printenv "SECRET_$name" >/dev/null || { log "secret file $name: no SECRET_$name variable"; ok=1; }
  done
  return "$ok"
}

check_database() {
  url="$(get datasources.postgres.url)"
  rest="${url#jdbc:postgresql://}"
  hostport="${rest%%/*}"
  dbname="${rest#*/}"
  dbname="${dbname%%\?*}"
  host="${hostport%%:*}"
  port="${hostport#*:}"
  [ "$port" != "$hostport" ] || port=5432
  user="$(get datasources.postgres.username)"
  PGPASSWORD="$(get datasources.postgres.password)" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 \
    -h "$host" -p "$port" -U "$user" -d "$dbname" -At \
    -c "CREATE TABLE IF NOT EXISTS kestra_fleet_e2e_contract (service text, container text, at timestamptz DEFAULT now())" \
    -c "INSERT INTO kestra_fleet_e2e_contract (service, container) VALUES ('$(echo "$role" | awk '{print $2}')', '$(hostname)')" \
    >/dev/null 2>/tmp/psql.err && { log "database $dbname on $host:$port: logged in as $user"; return 0; }
  log "database $dbname on $host:$port as $user: $(head -c 300 /tmp/psql.err | tr '\n' ' ')"
  return 1
}

check_storage() {
  type="$(get kestra.storage.type)"
  [ "$type" = minio ] || { log "storage type $type: nothing to reach"; return 0; }
  endpoint="$(get kestra.storage.minio.endpoint)"
  port="$(get kestra.storage.minio.port)"
  bucket="$(get kestra.storage.minio.bucket)"
  region="$(get kestra.storage.minio.region)"
  # The user (its secret key) on curl's standard input, not on its command line.
  if printf 'user = "%s:%s"\n' "$(get kestra.storage.minio.accessKey)" "$(get kestra.storage.minio.secretKey)" |
    curl -fsS --max-time 5 -K - --aws-sigv4 "aws:amz:${region:-us-east-1}:s3" "http://$endpoint:$port/$bucket/?list-type=2&max-keys=1" 2>/tmp/curl.err | grep -q "<Name>$bucket</Name>"; then
    log "storage $endpoint:$port: listed bucket $bucket with the config's key"
    return 0
  fi
  log "storage $endpoint:$port bucket $bucket: $(head -c 300 /tmp/curl.err | tr '\n' ' ')"
  return 1
}

rm -f /tmp/contract-ok /tmp/management-auth /tmp/metrics
mgmt_user="$(get endpoints.all.basic-auth.username)"
if [ -n "$mgmt_user" ]; then
  ( umask 077; printf 'Basic %s' "$(printf '%s:%s' "$mgmt_user" "$(get endpoints.all.basic-auth.password)" | base64 -w 0)" >/tmp/management-auth )
  log "management port: basic auth as $mgmt_user"
else
  log "management port: no basic auth configured (/prometheus refused)"
fi
db_url="$(get datasources.postgres.url)"
db_name="${db_url##*/}"
cat >/tmp/metrics <<METRICS
# HELP kestra_fleet_e2e_standin The e2e Kestra stand-in that answered: its server and database.
# TYPE kestra_fleet_e2e_standin gauge
kestra_fleet_e2e_standin{server="$(echo "$role" | awk '{print $2}')",database="${db_name%%\?*}"} 1
# HELP jvm_memory_used_bytes Stand-in value.
# TYPE jvm_memory_used_bytes gauge
jvm_memory_used_bytes{area="heap",id="e2e-standin"} 1048576
METRICS
(
  check_secrets || { log "contract: FAILED (secrets)"; exit 1; }
  until check_database; do sleep 3; done
  until check_storage; do sleep 3; done
  touch /tmp/contract-ok
  log "contract: ok"
) &
socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'e2e-http 200' &
exec socat TCP-LISTEN:8081,fork,reuseaddr SYSTEM:'e2e-http management'
