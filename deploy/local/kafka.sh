#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) for local
# development and CI, assembled from Maven Central with the machine's Maven.
#
# Usage: deploy/local/kafka.sh {start|stop|status|brokers|secure}
#
#   start    fetch the jars if needed (cached), format storage on first use,
#            start the broker and wait until it serves; prints the bootstrap
#            address as the last stdout line. Idempotent.
#   stop     SIGTERM, wait, then SIGKILL. Idempotent.
#   status   exit 0 if running, 3 if not.
#   brokers  print the bootstrap address (127.0.0.1:PORT).
#   secure   print the SASL_SSL listener as one JSON line: brokers, the CA file
#            (PEM) that signs its certificate, username, password.
#
# Two client listeners: PLAINTEXT on PORT, and SASL_SSL on PORT+2 (TLS with a
# self-signed certificate made by keytool on first start, for 127.0.0.1 and
# localhost; SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, user "keystream",
# password "keystream-local": local credentials like the Postgres ones), so
# the TLS/SASL client settings are tested against a real broker.
#
# Environment:
#   KS_KAFKA_PORT       client listener port on 127.0.0.1 (default 19092);
#                       the controller listens on PORT+1, SASL_SSL on PORT+2
#   KS_KAFKA_DIR        state directory (default $REPO/.local/kafka): lib/,
#                       data/, logs/, config/, kafka.pid
#   KS_KAFKA_HEAP_OPTS  JVM heap flags (default "-Xms256m -Xmx512m")
#   JAVA_HOME           Java to use (default: java on PATH; Java 11+)
#
# Kafka is pinned to 3.9.x in deploy/local/kafka/pom.xml: kafkajs 2.2.4 uses
# protocol versions that Kafka 4.0 removed. Changing the pom re-fetches lib/.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"

POM="$SCRIPT_DIR/kafka/pom.xml"
PORT="${KS_KAFKA_PORT:-19092}"
KDIR="${KS_KAFKA_DIR:-$REPO/.local/kafka}"
[[ "$KDIR" == /* ]] || KDIR="$PWD/$KDIR"  # relative KS_KAFKA_DIR
LIB="$KDIR/lib"
DATA="$KDIR/data"
LOGS="$KDIR/logs"
CONF_DIR="$KDIR/config"
PIDFILE="$KDIR/kafka.pid"
PORTFILE="$KDIR/kafka.port"
SERVER_LOG="$LOGS/server.log"
STDOUT_LOG="$LOGS/kafka.out"
HOST=127.0.0.1
HEAP_OPTS="${KS_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT=90
STOP_TIMEOUT=30

TLS_DIR="$KDIR/tls"
SASL_USER=keystream
SASL_PASSWORD=keystream-local
STOREPASS=keystream-local-store

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  echo "usage: $0 {start|stop|status|brokers|secure}" >&2
  exit 2
}

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    die "java not found (install a JDK/JRE 11+ or set JAVA_HOME)"
  fi
}

read_pid() {
  local pid=""
  [[ -f "$PIDFILE" ]] && pid="$(<"$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && echo "$pid"
  return 0
}

# True if PID is alive and is a Kafka broker started from our config.
is_our_kafka() {
  local pid="$1" cmdline
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *kafka.Kafka* && "$cmdline" == *"$CONF_DIR/server.properties"* ]]
}

running_pid() {
  local pid
  pid="$(read_pid)"
  [[ -n "$pid" ]] && is_our_kafka "$pid" && echo "$pid"
  return 0
}

current_port() {
  local p=""
  if [[ -n "$(running_pid)" && -f "$PORTFILE" ]]; then
    p="$(<"$PORTFILE")"
  fi
  if [[ "$p" =~ ^[0-9]+$ ]]; then echo "$p"; else echo "$PORT"; fi
}

brokers() { echo "$HOST:$(current_port)"; }

port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

show_logs() {
  local f
  for f in "$SERVER_LOG" "$STDOUT_LOG"; do
    if [[ -s "$f" ]]; then
      log "last lines of $f:"
      tail -n 40 "$f" >&2 || true
    fi
  done
}

# Fetch Kafka and its runtime dependencies into lib/, unless lib/ already
# holds the jars for the current pom.
ensure_lib() {
  local stamp
  stamp="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$LIB/.stamp" && "$(<"$LIB/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install maven)"
  log "fetching Kafka jars from Maven Central into $LIB (one-time)"
  # Run Maven on a copy of the pom so it writes nothing inside the repo.
  local work="$KDIR/maven" tmp="$KDIR/lib.tmp"
  rm -rf "$work" "$tmp"
  mkdir -p "$work" "$LOGS"
  cp "$POM" "$work/pom.xml"
  if ! (cd "$work" && mvn -B -q dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp") >"$LOGS/maven.log" 2>&1; then
    tail -n 40 "$LOGS/maven.log" >&2 || true
    die "Maven could not fetch the Kafka jars (full log: $LOGS/maven.log)"
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "Maven ran but no kafka_2.13 jar in $tmp"
  echo "$stamp" >"$tmp/.stamp"
  rm -rf "$LIB" "$work"
  mv "$tmp" "$LIB"
}

# A self-signed certificate for the SASL_SSL listener (made once, kept in tls/).
ensure_tls() {
  [[ -f "$TLS_DIR/broker.p12" && -f "$TLS_DIR/ca.pem" ]] && return 0
  local kt="keytool"
  [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/keytool" ]] && kt="$JAVA_HOME/bin/keytool"
  command -v "$kt" >/dev/null 2>&1 || die "keytool not found (it comes with the JDK)"
  rm -rf "$TLS_DIR.tmp" && mkdir -p "$TLS_DIR.tmp"
  "$kt" -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 \
    -dname "CN=keystream-local-kafka" -ext "SAN=IP:127.0.0.1,DNS:localhost" \
    -storetype PKCS12 -keystore "$TLS_DIR.tmp/broker.p12" -storepass "$STOREPASS" >/dev/null 2>&1 ||
    die "keytool could not make the broker certificate"
  "$kt" -exportcert -rfc -alias broker -keystore "$TLS_DIR.tmp/broker.p12" -storepass "$STOREPASS" \
    -file "$TLS_DIR.tmp/ca.pem" >/dev/null 2>&1 || die "keytool could not export the broker certificate"
  rm -rf "$TLS_DIR" && mv "$TLS_DIR.tmp" "$TLS_DIR"
}

# SCRAM credentials live in the cluster metadata: (re)set them through the plaintext listener.
ensure_scram_user() {
  local java mech stamp="$DATA/.keystream-scram-users"
  # The credentials live in the cluster metadata (under data/): set once per formatted storage.
  [[ -f "$stamp" ]] && return 0
  java="$(java_bin)"
  # One mechanism per request: the broker refuses to alter one user's credentials twice in a request.
  for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
    if ! "$java" "-Dlog4j.configuration=file:$CONF_DIR/tools-log4j.properties" -cp "$LIB/*" kafka.admin.ConfigCommand \
        --bootstrap-server "$HOST:$PORT" --alter --entity-type users --entity-name "$SASL_USER" \
        --add-config "$mech=[password=$SASL_PASSWORD]" >"$LOGS/scram.log" 2>&1; then
      cat "$LOGS/scram.log" >&2
      die "could not create the $mech user"
    fi
  done
  touch "$stamp"
}

secure() {
  printf '{"brokers":"%s:%s","ca":"%s","username":"%s","password":"%s"}\n' "$HOST" "$(( $(current_port) + 2 ))" "$TLS_DIR/ca.pem" "$SASL_USER" "$SASL_PASSWORD"
}

write_config() {
  local cport=$((PORT + 1)) sport=$((PORT + 2))
  mkdir -p "$CONF_DIR" "$DATA" "$LOGS"
  cat >"$CONF_DIR/server.properties" <<EOF
# Generated by deploy/local/kafka.sh on each start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$cport
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$cport,SASL_SSL://$HOST:$sport
advertised.listeners=PLAINTEXT://$HOST:$PORT,SASL_SSL://$HOST:$sport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
log.dirs=$DATA

# The SASL_SSL listener: TLS (self-signed, tls/), PLAIN and SCRAM users.
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$STOREPASS
listener.name.sasl_ssl.ssl.key.password=$STOREPASS

auto.create.topics.enable=false
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true

# Small machine: fewer threads than the defaults.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=104857600
EOF
  cat >"$CONF_DIR/log4j.properties" <<'EOF'
# Generated by deploy/local/kafka.sh. Logs go to ${kafka.logs.dir}/server.log.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.state.change.logger=WARN
EOF
  cat >"$CONF_DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

format_storage() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  local java cid
  java="$(java_bin)"
  # A Kafka cluster id is a base64url-encoded random 128-bit UUID (22 chars)
  # that must not start with '-' (same rule as Uuid.randomUuid()).
  while :; do
    cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [[ "$cid" != -* ]] && break
  done
  log "formatting storage in $DATA (cluster id $cid)"
  if ! "$java" -Xmx256m -Dlog4j.configuration="file:$CONF_DIR/tools-log4j.properties" \
      -cp "$LIB/*" kafka.tools.StorageTool format -t "$cid" \
      -c "$CONF_DIR/server.properties" --ignore-formatted >"$LOGS/format.log" 2>&1; then
    cat "$LOGS/format.log" >&2
    die "kafka-storage format failed"
  fi
}

do_start() {
  if ! [[ "$PORT" =~ ^[0-9]+$ ]] || (( PORT < 1 || PORT > 65534 )); then
    die "KS_KAFKA_PORT must be a port number below 65535, got '$PORT'"
  fi
  mkdir -p "$KDIR"

  local pid
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    log "already running (pid $pid)"
    wait_ready "$pid" ""
    brokers
    return 0
  fi
  rm -f "$PIDFILE"

  local p
  for p in "$PORT" $((PORT + 1)) $((PORT + 2)); do
    if port_open "$p"; then
      die "port $HOST:$p is already in use by another process (set KS_KAFKA_PORT)"
    fi
  done

  ensure_lib
  ensure_tls
  write_config
  format_storage

  local java
  java="$(java_bin)"
  local -a jvm_opts
  read -r -a jvm_opts <<<"$HEAP_OPTS"
  jvm_opts+=(
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true
    "-Dkafka.logs.dir=$LOGS"
    "-Dlog4j.configuration=file:$CONF_DIR/log4j.properties"
  )

  # Remember where server.log ends so readiness only looks at this run.
  local offset=0
  [[ -f "$SERVER_LOG" ]] && offset="$(stat -c %s "$SERVER_LOG")"

  log "starting on $HOST:$PORT (controller $HOST:$((PORT + 1)), logs: $LOGS)"
  echo "$PORT" >"$PORTFILE"
  {
    echo "===== $(date -u '+%Y-%m-%dT%H:%M:%SZ') kafka.sh start"
  } >>"$STDOUT_LOG"
  # setsid: own session, so the broker outlives this script and a Ctrl-C in
  # the caller's terminal. The launcher writes its own pid, then execs java.
  # fd 9 (the lock) is not inherited.
  # shellcheck disable=SC2016 # $$/$1/$@ are for the inner bash
  setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' kafka-launcher "$PIDFILE" \
    "$java" "${jvm_opts[@]}" -cp "$LIB/*" kafka.Kafka "$CONF_DIR/server.properties" \
    </dev/null >>"$STDOUT_LOG" 2>&1 9>&- &

  local deadline=$((SECONDS + 5))
  until pid="$(read_pid)" && [[ -n "$pid" ]]; do
    (( SECONDS < deadline )) || die "broker process did not start (see $STDOUT_LOG)"
    sleep 0.1
  done

  wait_ready "$pid" "$offset"
  ensure_scram_user
  log "ready"
  brokers
}

# Wait until PID serves on the client port and (when OFFSET is given) the
# server log since OFFSET says the server started.
wait_ready() {
  local pid="$1" offset="$2" port
  port="$(current_port)"
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs
      rm -f "$PIDFILE"
      die "Kafka exited during startup"
    fi
    if port_open "$port"; then
      # (grep reads from a process substitution: with pipefail, `tail | grep -q`
      # could fail on SIGPIPE even when grep matched.)
      if [[ -z "$offset" ]] ||
          grep -q -e 'Kafka Server started' -e 'started (kafka.server.KafkaRaftServer)' \
            < <(tail -c +"$((offset + 1))" "$SERVER_LOG" 2>/dev/null); then
        return 0
      fi
    fi
    if (( SECONDS >= deadline )); then
      show_logs
      log "not ready after ${START_TIMEOUT}s; stopping it"
      stop_pid "$pid"
      die "Kafka did not become ready on $HOST:$port"
    fi
    sleep 0.5
  done
}

stop_pid() {
  local pid="$1" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      log "still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$PIDFILE"
}

do_stop() {
  local pid
  pid="$(running_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  stop_pid "$pid"
  log "stopped"
}

do_status() {
  local pid
  pid="$(running_pid)"
  if [[ -n "$pid" ]]; then
    echo "running (pid $pid) on $(brokers)"
    return 0
  fi
  echo "not running"
  return 3
}

main() {
  local cmd="${1:-}"
  [[ -n "$cmd" ]] || usage
  case "$cmd" in
    start | stop)
      # Serialise concurrent start/stop calls.
      mkdir -p "$KDIR"
      exec 9>"$KDIR/.lock"
      flock 9
      ;;
  esac
  case "$cmd" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    brokers) brokers ;;
    secure) secure ;;
    *) usage ;;
  esac
}

main "$@"
