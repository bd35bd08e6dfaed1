#!/usr/bin/env bash
# Apache Kafka (KRaft, combined broker+controller nodes) for local development, CI and benchmarks,
# assembled from Maven Central with the machine's Maven and Java 17.
#
# Usage: deploy/local/kafka.sh [cluster] {start|stop|status|brokers|secure}
#        deploy/local/kafka.sh cluster {node-stop N|node-start N|node-pid N}    (N = 1..3)
#
#   start    fetch the jars if needed (cached), format storage on first use, start and wait
#            until it serves; prints the bootstrap address(es) as the last stdout line. Idempotent.
#   stop     SIGTERM, wait, then SIGKILL. Idempotent.
#   status   exit 0 if running (cluster: all three nodes), 3 if not.
#   brokers  print the bootstrap address(es), comma-separated.
#   secure   print the SASL_SSL listener(s) as one JSON line: brokers, the CA file (PEM) that
#            signs their certificate, username, password.
#   node-*   cluster only: stop / start one node, print its pid (for fault tests).
#
# Single mode: one node; PLAINTEXT on PORT, controller PORT+1, SASL_SSL PORT+2; replication 1.
# Cluster mode: three nodes (all three are voters of the controller quorum), replication 3,
#   min.insync.replicas 2: node N serves PLAINTEXT on PORT+N-1, controller PORT+2+N,
#   SASL_SSL PORT+5+N. State under $KS_KAFKA_DIR/cluster/node-N. Single and cluster share
#   ports: run one of them at a time per KS_KAFKA_PORT.
# SASL_SSL: TLS with a self-signed certificate made by keytool on first start (127.0.0.1,
# localhost); SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, user "keystream", password
# "keystream-local" (local credentials like the Postgres ones; SCRAM users are written at format).
#
# Environment:
#   KS_KAFKA_VERSION    Kafka version (default 4.4.0, the newest 4.x on Maven Central); a 3.x
#                       version (e.g. 3.9.2) uses kafka/pom-3.x.xml (reload4j logging)
#   KS_KAFKA_PORT       first port on 127.0.0.1 (default 19092); uses PORT..PORT+2 (single)
#                       or PORT..PORT+8 (cluster)
#   KS_KAFKA_DIR        state directory (default $REPO/.local/kafka for the default version,
#                       $REPO/.local/kafka-<version> for another): lib/, tls/, config/, data/, logs/
#   KS_KAFKA_HEAP_OPTS  JVM heap flags (default "-Xms256m -Xmx512m"; cluster "-Xms128m -Xmx384m" each)
#   JAVA_HOME           Java to use (default: java on PATH; Java 17+)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
DEFAULT_VERSION=4.4.0
VERSION="${KS_KAFKA_VERSION:-$DEFAULT_VERSION}"
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "kafka.sh: KS_KAFKA_VERSION must look like 4.4.0, got '$VERSION'" >&2; exit 2; }
MAJOR="${VERSION%%.*}"
POM="$SCRIPT_DIR/kafka/pom.xml"
[[ "$MAJOR" -lt 4 ]] && POM="$SCRIPT_DIR/kafka/pom-3.x.xml"
PORT="${KS_KAFKA_PORT:-19092}"
if [[ "$VERSION" == "$DEFAULT_VERSION" ]]; then KDIR="${KS_KAFKA_DIR:-$REPO/.local/kafka}"; else KDIR="${KS_KAFKA_DIR:-$REPO/.local/kafka-$VERSION}"; fi
[[ "$KDIR" == /* ]] || KDIR="$PWD/$KDIR" # relative KS_KAFKA_DIR
LIB="$KDIR/lib"
CONF_ROOT="$KDIR/config"
TLS_DIR="$KDIR/tls"
HOST=127.0.0.1
START_TIMEOUT=90
STOP_TIMEOUT=30
SASL_USER=keystream
SASL_PASSWORD=keystream-local
STOREPASS=keystream-local-store
CLUSTER_NODES=(1 2 3)

# shellcheck source=deploy/local/kafka/node.sh
source "$SCRIPT_DIR/kafka/node.sh"

usage() {
  echo "usage: $0 [cluster] {start|stop|status|brokers|secure} | $0 cluster {node-stop|node-start|node-pid} N" >&2
  exit 2
}

nodes() { if [[ "$MODE" == cluster ]]; then echo "${CLUSTER_NODES[@]}"; else echo 0; fi; }

brokers() {
  local n out=()
  for n in $(nodes); do use_node "$n"; out+=("$HOST:$NODE_PORT"); done
  (IFS=,; echo "${out[*]}")
}

secure() {
  local n out=()
  for n in $(nodes); do use_node "$n"; out+=("$HOST:$NODE_SPORT"); done
  printf '{"brokers":"%s","ca":"%s","username":"%s","password":"%s"}\n' "$(IFS=,; echo "${out[*]}")" "$TLS_DIR/ca.pem" "$SASL_USER" "$SASL_PASSWORD"
}

# Launch the selected node (config written, storage formatted); returns once its pid file exists.
launch() {
  local heap="$1" java pid offset=0
  java="$(java_bin)"
  local -a jvm_opts
  read -r -a jvm_opts <<<"$heap"
  jvm_opts+=(
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    "-Dkafka.logs.dir=$NODE_LOGS" "$(log_opts server)"
  )
  # Where server.log ends now, so readiness looks at this run only.
  [[ -f "$NODE_SERVER_LOG" ]] && offset="$(stat -c %s "$NODE_SERVER_LOG")"
  echo "$offset" >"$NODE_DIR/log.offset"
  log "starting node $NODE (Kafka $VERSION) on $HOST:$NODE_PORT (controller $NODE_CPORT, SASL_SSL $NODE_SPORT, logs: $NODE_LOGS)"
  echo "===== $(date -u '+%Y-%m-%dT%H:%M:%SZ') kafka.sh start (Kafka $VERSION)" >>"$NODE_STDOUT"
  rm -f "$NODE_PIDFILE"
  # setsid: own session, so the broker outlives this script and a Ctrl-C in the caller's terminal.
  # The launcher writes its own pid, then execs java. fd 9 (the lock) is not inherited.
  # shellcheck disable=SC2016 # $$/$1/$@ are for the inner bash
  setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' kafka-launcher "$NODE_PIDFILE" \
    "$java" "${jvm_opts[@]}" -cp "$LIB/*" kafka.Kafka "$NODE_CONF/server.properties" \
    </dev/null >>"$NODE_STDOUT" 2>&1 9>&- &
  local deadline=$((SECONDS + 5))
  until pid="$(read_pid)" && [[ -n "$pid" ]]; do
    (( SECONDS < deadline )) || die "node $NODE did not start (see $NODE_STDOUT)"
    sleep 0.1
  done
}

# Wait until the selected node serves on its client port and its log (since launch) says it started.
wait_ready() {
  local pid port="$NODE_PORT" offset=0 deadline=$((SECONDS + START_TIMEOUT))
  pid="$(read_pid)"
  [[ -f "$NODE_DIR/log.offset" ]] && offset="$(<"$NODE_DIR/log.offset")"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs
      rm -f "$NODE_PIDFILE"
      die "Kafka node $NODE exited during startup"
    fi
    # (grep reads a process substitution: with pipefail, `tail | grep -q` can fail on SIGPIPE.)
    if port_open "$port" && grep -q -e 'Kafka Server started' -e 'started (kafka.server.KafkaRaftServer)' \
        < <(tail -c +"$((offset + 1))" "$NODE_SERVER_LOG" 2>/dev/null); then
      return 0
    fi
    if (( SECONDS >= deadline )); then
      show_logs
      log "node $NODE not ready after ${START_TIMEOUT}s; stopping it"
      stop_pid "$pid"
      die "Kafka did not become ready on $HOST:$port"
    fi
    sleep 0.5
  done
}

stop_pid() {
  local pid="$1" deadline=$((SECONDS + STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      log "node $NODE still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$NODE_PIDFILE"
}

# Start the nodes not yet running (all first, then wait: a cluster node needs a quorum to start).
do_start() {
  if ! [[ "$PORT" =~ ^[0-9]+$ ]] || (( PORT < 1 || PORT > 65526 )); then
    die "KS_KAFKA_PORT must be a port number below 65527, got '$PORT'"
  fi
  local n p pid voters="" rf=1 isr=1 heap="${KS_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}" cid launched=()
  if [[ "$MODE" == cluster ]]; then
    rf=3; isr=2; heap="${KS_KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}"
    for n in "${CLUSTER_NODES[@]}"; do use_node "$n"; voters+="${voters:+,}$n@$HOST:$NODE_CPORT"; done
    mkdir -p "$KDIR/cluster"
    [[ -f "$KDIR/cluster/cluster.id" ]] || new_cluster_id >"$KDIR/cluster/cluster.id"
    cid="$(<"$KDIR/cluster/cluster.id")"
  else
    use_node 0; voters="1@$HOST:$NODE_CPORT"; cid="$(new_cluster_id)"
  fi
  ensure_lib
  ensure_tls
  write_log_configs
  for n in $(nodes); do
    [[ -n "${ONLY_NODE:-}" && "$n" != "$ONLY_NODE" ]] && continue
    use_node "$n"
    if [[ -n "$(running_pid)" ]]; then log "node $n already running (pid $(running_pid))"; continue; fi
    for p in "$NODE_PORT" "$NODE_CPORT" "$NODE_SPORT"; do
      port_open "$p" && die "port $HOST:$p is already in use by another process (set KS_KAFKA_PORT)"
    done
    write_server_config "$voters" "$rf" "$isr"
    format_storage "$cid"
    launch "$heap"
    launched+=("$n")
  done
  for n in "${launched[@]}"; do use_node "$n"; wait_ready; done
  for n in $(nodes); do
    [[ -n "${ONLY_NODE:-}" && "$n" != "$ONLY_NODE" ]] && continue
    use_node "$n"; [[ -n "$(running_pid)" ]] || die "node $n is not running"
  done
  log "ready (Kafka $VERSION, $MODE)"
  brokers
}

# SIGTERM every selected node first, then wait: a cluster node shutting down alone after the
# others left has no quorum for its controlled shutdown and would sit out the whole timeout.
do_stop() {
  local n pid pids=()
  for n in $(nodes); do
    [[ -n "${ONLY_NODE:-}" && "$n" != "$ONLY_NODE" ]] && continue
    use_node "$n"
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then rm -f "$NODE_PIDFILE"; log "node $n not running"; continue; fi
    log "stopping node $n (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$n:$pid")
  done
  for pid in "${pids[@]}"; do use_node "${pid%%:*}"; stop_pid "${pid#*:}"; done
}

do_status() {
  local n pid up=0 total=0
  for n in $(nodes); do
    use_node "$n"; total=$((total + 1)); pid="$(running_pid)"
    [[ -n "$pid" ]] && { up=$((up + 1)); echo "node $n running (pid $pid) on $HOST:$NODE_PORT"; }
  done
  if (( up == total )); then echo "running (Kafka $VERSION) on $(brokers)"; return 0; fi
  echo "not running ($up of $total nodes up)"
  return 3
}

main() {
  MODE=single
  if [[ "${1:-}" == cluster ]]; then MODE=cluster; shift; fi
  local cmd="${1:-}"
  [[ -n "$cmd" ]] || usage
  case "$cmd" in
    node-stop | node-start | node-pid)
      [[ "$MODE" == cluster && "${2:-}" =~ ^[1-3]$ ]] || usage
      ONLY_NODE="$2" ;;
  esac
  case "$cmd" in
    start | stop | node-start | node-stop)
      mkdir -p "$KDIR"
      exec 9>"$KDIR/.lock" # serialise concurrent start/stop calls
      flock 9 ;;
  esac
  case "$cmd" in
    start | node-start) do_start ;;
    stop | node-stop) do_stop ;;
    status) do_status ;;
    brokers) brokers ;;
    secure) secure ;;
    node-pid) use_node "$ONLY_NODE"; pid="$(running_pid)"; [[ -n "$pid" ]] || exit 3; echo "$pid" ;;
    *) usage ;;
  esac
}

main "$@"
