#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for local development and CI.
#
# Usage: deploy/local/postgres.sh {start|stop|status|url|createdb NAME}
#
#   start          init the cluster if needed, start it, wait until ready,
#                  ensure role/database "keystream" exist; prints the
#                  DATABASE_URL as the last stdout line. Idempotent.
#   stop           pg_ctl stop -m fast. Idempotent.
#   status         exit 0 if running, 3 if not.
#   url            print the DATABASE_URL.
#   createdb NAME  create database NAME owned by keystream if missing (server
#                  must be running); prints its URL. Idempotent.
#
# Environment:
#   KS_PG_PORT  TCP port on 127.0.0.1             (default 54329)
#   KS_PG_DIR   data directory (PGDATA)           (default $REPO/.local/postgres)
#   KS_PG_FAST  1 = fsync/synchronous_commit/full_page_writes off for this start
#               (faster tests, the data may not survive an OS crash)
#   KS_PG_BIN   PostgreSQL binaries               (default /usr/lib/postgresql/15/bin)
#
# Uses Debian's postgresql-15 binaries (apt-get install postgresql-15). initdb
# and pg_ctl refuse to run as root, so as root they run as the "postgres" OS
# user, which owns the data directory. The server listens on 127.0.0.1 only,
# with its unix socket inside the data directory. Unix-socket connections are
# trusted (superuser "postgres"); TCP connections need a password
# (scram-sha-256): role keystream / password keystream.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"

PORT="${KS_PG_PORT:-54329}"
PGDATA_DIR="${KS_PG_DIR:-$REPO/.local/postgres}"
[[ "$PGDATA_DIR" == /* ]] || PGDATA_DIR="$PWD/$PGDATA_DIR"  # relative KS_PG_DIR
PGBIN="${KS_PG_BIN:-/usr/lib/postgresql/15/bin}"
LOGFILE="$PGDATA_DIR/postgres.log"
HOST=127.0.0.1
APP_USER=keystream
APP_PASSWORD=keystream
APP_DB=keystream
SUPERUSER=postgres
START_TIMEOUT=30

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  echo "usage: $0 {start|stop|status|url|createdb NAME}" >&2
  exit 2
}

# Run a PostgreSQL server-side binary; as root, as the postgres OS user.
pg_run() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

ensure_os_user() {
  [[ $EUID -eq 0 ]] || return 0
  if ! id -u postgres >/dev/null 2>&1; then
    log "creating OS user postgres"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postgres
  fi
}

check_binaries() {
  local b
  for b in initdb pg_ctl pg_isready psql; do
    [[ -x "$PGBIN/$b" ]] || die "$PGBIN/$b not found (apt-get install postgresql-15, or set KS_PG_BIN)"
  done
}

# Port the server is actually using (from postmaster.pid) when it runs,
# otherwise the configured one.
current_port() {
  local p=""
  if [[ -r "$PGDATA_DIR/postmaster.pid" ]]; then
    p="$(sed -n 4p "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
  fi
  if [[ "$p" =~ ^[0-9]+$ ]] && is_running; then
    echo "$p"
  else
    echo "$PORT"
  fi
}

db_url() {
  printf 'postgres://%s:%s@%s:%s/%s\n' "$APP_USER" "$APP_PASSWORD" "$HOST" "$(current_port)" "${1:-$APP_DB}"
}

is_running() {
  [[ -f "$PGDATA_DIR/PG_VERSION" ]] || return 1
  pg_run "$PGBIN/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1
}

# psql as the superuser over the unix socket (trust auth).
su_psql() {
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDATA_DIR" -p "$(current_port)" \
    -U "$SUPERUSER" -d postgres "$@"
}

init_cluster() {
  local parent
  parent="$(dirname "$PGDATA_DIR")"
  mkdir -p "$PGDATA_DIR"
  if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$PGDATA_DIR"
    runuser -u postgres -- test -x "$parent" ||
      die "user postgres cannot reach $parent (check the permissions of its parent directories)"
  fi
  chmod 700 "$PGDATA_DIR"
  if [[ -n "$(ls -A "$PGDATA_DIR")" ]]; then
    die "$PGDATA_DIR exists, is not empty and holds no cluster (no PG_VERSION); remove it or set KS_PG_DIR"
  fi
  log "initdb $PGDATA_DIR"
  local initlog
  initlog="$(mktemp)"
  if ! pg_run "$PGBIN/initdb" -D "$PGDATA_DIR" -U "$SUPERUSER" -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$initlog" 2>&1; then
    cat "$initlog" >&2
    rm -f "$initlog"
    die "initdb failed"
  fi
  rm -f "$initlog"
  # Settings fixed for the life of the cluster. Port and durability settings
  # are passed on each start instead (see do_start).
  cat >>"$PGDATA_DIR/postgresql.conf" <<EOF

# --- keystream local/CI cluster (deploy/local/postgres.sh) ---
listen_addresses = '$HOST'
unix_socket_directories = '$PGDATA_DIR'
max_connections = 200
password_encryption = 'scram-sha-256'
logging_collector = off
log_min_messages = warning
log_connections = off
log_disconnections = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  [[ $EUID -eq 0 ]] && chown postgres:postgres "$PGDATA_DIR/postgresql.conf"
  return 0
}

ensure_app_role_and_db() {
  su_psql <<EOF
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$APP_USER', '$APP_PASSWORD')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP_USER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$APP_DB', '$APP_USER')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$APP_DB') \gexec
EOF
}

do_start() {
  check_binaries
  ensure_os_user
  [[ "$PORT" =~ ^[0-9]+$ ]] || die "KS_PG_PORT must be a number, got '$PORT'"
  # The socket path must fit in sockaddr_un (107 bytes).
  local sock="$PGDATA_DIR/.s.PGSQL.$PORT"
  (( ${#sock} <= 107 )) || die "socket path too long (${#sock} > 107 bytes): $sock; use a shorter KS_PG_DIR"

  if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
    init_cluster
  fi

  if is_running; then
    log "already running"
  else
    local opts="-p $PORT"
    if [[ "${KS_PG_FAST:-0}" == 1 ]]; then
      opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    log "starting on $HOST:$PORT (data: $PGDATA_DIR, log: $LOGFILE${KS_PG_FAST:+, KS_PG_FAST=$KS_PG_FAST})"
    # -w: pg_ctl waits until the server reports ready (or exits). The lock fd
    # is closed so the server does not inherit it.
    if ! pg_run "$PGBIN/pg_ctl" start -w -t "$START_TIMEOUT" -D "$PGDATA_DIR" -l "$LOGFILE" \
        -o "$opts" >/dev/null 9>&-; then
      log "PostgreSQL exited or was not ready within ${START_TIMEOUT}s; last lines of $LOGFILE:"
      tail -n 30 "$LOGFILE" >&2 2>/dev/null || true
      pg_run "$PGBIN/pg_ctl" stop -D "$PGDATA_DIR" -m immediate >/dev/null 2>&1 || true
      die "PostgreSQL failed to start on $HOST:$PORT"
    fi
  fi

  # Confirm it accepts TCP connections where clients will connect.
  local port deadline
  port="$(current_port)"
  deadline=$((SECONDS + START_TIMEOUT))
  # No password is sent, so the probe leaves no auth failure in the server log.
  until env -u PGPASSWORD PGPASSFILE=/nonexistent/.pgpass \
      "$PGBIN/pg_isready" -q -h "$HOST" -p "$port" -U "$SUPERUSER" -d postgres -t 2; do
    if (( SECONDS >= deadline )); then
      log "not accepting connections on $HOST:$port after ${START_TIMEOUT}s; last lines of $LOGFILE:"
      tail -n 30 "$LOGFILE" >&2 2>/dev/null || true
      die "PostgreSQL is not ready"
    fi
    sleep 0.2
  done

  ensure_app_role_and_db
  db_url
}

do_stop() {
  check_binaries
  if ! is_running; then
    log "not running"
    return 0
  fi
  log "stopping"
  pg_run "$PGBIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 >/dev/null
  log "stopped"
}

do_status() {
  check_binaries
  if is_running; then
    echo "running on $HOST:$(current_port) (data: $PGDATA_DIR)"
    return 0
  fi
  echo "not running"
  return 3
}

do_createdb() {
  local name="${1:-}"
  [[ -n "$name" ]] || usage
  [[ "$name" =~ ^[A-Za-z0-9_-]{1,63}$ ]] || die "database name must match [A-Za-z0-9_-]{1,63}, got '$name'"
  check_binaries
  is_running || die "PostgreSQL is not running (run: $0 start)"
  su_psql -v "name=$name" -v "owner=$APP_USER" <<'EOF'
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') \gexec
EOF
  db_url "$name"
}

main() {
  local cmd="${1:-}"
  [[ -n "$cmd" ]] || usage
  shift
  case "$cmd" in
    start | stop | createdb)
      # Serialise concurrent start/stop/createdb calls on the same cluster.
      mkdir -p "$(dirname "$PGDATA_DIR")"
      exec 9>"$PGDATA_DIR.lock"
      flock 9
      ;;
  esac
  case "$cmd" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    url) db_url ;;
    createdb) do_createdb "$@" ;;
    *) usage ;;
  esac
}

main "$@"
