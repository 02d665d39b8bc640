#!/usr/bin/env bash
# Makes sure a PostgreSQL answers where the tests look for it (PGHOST:PGPORT, default 127.0.0.1:5432).
# When one answers already, does nothing. Otherwise (on Debian or Ubuntu, as root or with sudo):
# installs the `postgresql` package if it is missing, starts a cluster on that port with trust
# authentication for local connections only, and creates the `test` database and the `root` role.
# Never touches a cluster that is running, or one configured for another port.
set -euo pipefail

HOST="${PGHOST:-127.0.0.1}"
PORT="${PGPORT:-5432}"
CLUSTER="${EXOTEL_PG_CLUSTER:-exotel_test}"

say() { echo "ensure-postgres: $*" >&2; }

# Something listens there (a server starting up counts: it is not ours to replace).
answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    local rc=0
    pg_isready -q -h "$HOST" -p "$PORT" -t 2 || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]
    return
  fi
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$PORT" 2>/dev/null
}

ready() { pg_isready -q -h "$HOST" -p "$PORT" -t 2; }

# The database-restart drill starts a server of its own: with EXOTEL_PG_BINARIES=1 the server's
# programs (initdb, pg_ctl) must be on this machine too, whatever answers on the port.
have_binaries() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if answers; then
  if [ "${EXOTEL_PG_BINARIES:-}" != 1 ] || have_binaries; then
    say "PostgreSQL answers on $HOST:$PORT; nothing to do"
    exit 0
  fi
  command -v apt-get >/dev/null 2>&1 || { say "PostgreSQL answers, but its programs (initdb, pg_ctl) are not in /usr/lib/postgresql: install Debian's postgresql, or set EXOTEL_PG_BIN"; exit 1; }
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
  say "PostgreSQL answers on $HOST:$PORT; installing Debian's postgresql for its programs (initdb, pg_ctl)"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  exit 0
fi

case "$HOST" in
  127.0.0.1 | localhost | ::1) ;;
  *)
    say "nothing answers on $HOST:$PORT, and that is not this machine: start PostgreSQL there, or unset PGHOST"
    exit 1
    ;;
esac

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  say "nothing answers on $HOST:$PORT, and installing PostgreSQL needs root or sudo without a password"
  exit 1
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_createcluster >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { say "no apt-get: install PostgreSQL 15 or later yourself and start it on $HOST:$PORT"; exit 1; }
  say "installing Debian's postgresql"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

# A cluster of this version already configured for the port (the package's own `main`, which
# the package could not start in a container without an init system)?
EXISTING="$(pg_lsclusters -h 2>/dev/null | awk -v v="$VERSION" -v p="$PORT" '$1 == v && $3 == p { print $2; exit }')"
if [ -n "$EXISTING" ]; then
  STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$EXISTING" '$1 == v && $2 == c { print $4 }')"
  if [ "$STATUS" = "online" ]; then
    say "cluster $VERSION/$EXISTING runs on port $PORT but does not answer on $HOST; leaving it alone"
    exit 1
  fi
  CLUSTER="$EXISTING"
  say "starting cluster $VERSION/$CLUSTER on port $PORT with trust authentication for local connections"
else
  say "creating cluster $VERSION/$CLUSTER on port $PORT with trust authentication for local connections"
  "${SUDO[@]}" pg_createcluster "$VERSION" "$CLUSTER" -p "$PORT" -- --auth=trust >/dev/null
fi

HBA="/etc/postgresql/$VERSION/$CLUSTER/pg_hba.conf"
"${SUDO[@]}" tee "$HBA" >/dev/null <<'HBA'
# written by scripts/ensure-postgres.sh for tests: anyone on this machine, no password; nobody else
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
HBA
"${SUDO[@]}" pg_ctlcluster "$VERSION" "$CLUSTER" start

for _ in $(seq 1 30); do
  ready && break
  sleep 1
done
ready || { say "the cluster did not come up: see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log"; exit 1; }

psql_admin() { psql -X -q -h "$HOST" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'root'" | grep -q 1 || psql_admin -c 'CREATE ROLE root SUPERUSER LOGIN'
psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 || psql_admin -c 'CREATE DATABASE test'
say "PostgreSQL $VERSION answers on $HOST:$PORT (users postgres and root, database test)"
