#!/usr/bin/env bash
# Soak test (NOT run in CI): a KRaft broker in its own JVM (persistent log dir, so it can be restarted), Apicurio,
# two scorer processes sharing one application.id, a rate-limited rollout producer; while it runs, one scorer is
# SIGKILLed and restarted every SOAK_KILL_EVERY seconds and the broker is stopped (SIGTERM) and restarted once at half
# time. At the end: an exact-count check on the rewards topic (read_committed): every rollout rewarded exactly once,
# no dead letters. Exit 0 iff exact.
#
#   ops/soak.sh                                   # 3 minutes, 40 rollouts/s
#   SOAK_SECONDS=3600 SOAK_RATE=100 ops/soak.sh   # an hour
#
# Overload burst (no faults, one burst as fast as the producer goes, peak memory of the scorers reported):
#   SOAK_SECONDS=10 SOAK_RATE=2000 SOAK_KILL_EVERY=0 SOAK_BROKER_RESTART=0 ops/soak.sh
#
# Knobs: SOAK_SECONDS (180), SOAK_RATE rollouts/s (40), SOAK_KILL_EVERY seconds (30; 0 = never),
# SOAK_BROKER_RESTART (1; 0 = never), SOAK_PARTITIONS (4),
# SOAK_DIR (target/soak-<timestamp>; logs of every process stay there). Needs only a JDK 17; binds 127.0.0.1 only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
SECONDS_TOTAL=${SOAK_SECONDS:-180}
RATE=${SOAK_RATE:-40}
KILL_EVERY=${SOAK_KILL_EVERY:-30}
BROKER_RESTART=${SOAK_BROKER_RESTART:-1}
PARTITIONS=${SOAK_PARTITIONS:-4}
W=${SOAK_DIR:-$here/target/soak-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$W"
W="$(cd "$W" && pwd)"
log() { echo "[soak $(date +%H:%M:%S)] $*"; }

if [[ ! -f target/classpath.txt || ! -d target/test-classes ]]; then
  log "building (package, tests compiled but not run)..."
  ./mvnw -B -q -DskipTests -DskipITs package
fi
CP="target/test-classes:target/classes:$(cat target/classpath.txt)"
JCMD="$(dirname "$(readlink -f "$(command -v java)")")/jcmd"
JAVA=(java -XX:+UseSerialGC -Drewardstream.apicurio.dir="$here/target/apicurio")

# a port nothing listens on (racy by nature; fine on one machine)
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
}
BROKER_PORT=$(free_port); CONTROLLER_PORT=$(free_port)
BOOTSTRAP=127.0.0.1:$BROKER_PORT

PIDS=()
cleanup() {
  log "stopping everything"
  for p in "${SCORER_PID[@]:-}" "${PRODUCER_PID:-}" "${BROKER_PID:-}" "${REGISTRY_PID:-}"; do
    [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null || true
  done
  sleep 3
  for p in "${SCORER_PID[@]:-}" "${PRODUCER_PID:-}" "${BROKER_PID:-}" "${REGISTRY_PID:-}"; do
    [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

# --- broker (own JVM, persistent logs) ------------------------------------------------------------------------------
cat > "$W/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$BROKER_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$BROKER_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$W/kafka-logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
EOF
"${JAVA[@]}" -cp "$CP" kafka.tools.StorageTool format --standalone -t "$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22)" \
  -c "$W/server.properties" > "$W/format.log" 2>&1 || { cat "$W/format.log"; exit 1; }
start_broker() {
  "${JAVA[@]}" -Xmx1g -cp "$CP" kafka.Kafka "$W/server.properties" >> "$W/broker.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/$BROKER_PORT) 2>/dev/null && return 0; sleep 0.5; done
  log "broker did not open its port"; exit 1
}
start_broker
log "broker pid $BROKER_PID at $BOOTSTRAP"

# --- registry, model, topics ----------------------------------------------------------------------------------------
"${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver registry "$W/registry.url" > "$W/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 1 240); do [[ -s "$W/registry.url" ]] && break; sleep 0.5; done
REGISTRY=$(cat "$W/registry.url")
log "registry pid $REGISTRY_PID at $REGISTRY"
MODEL=$("${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver model "$W/models" 2>>"$W/model.log" | tail -1)
PREFIX=soak
"${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver topics "$BOOTSTRAP" "$PREFIX" "$PARTITIONS" >> "$W/topics.log" 2>&1

# --- scorers ---------------------------------------------------------------------------------------------------------
SCORER_PID=()
write_scorer_config() {
  cat > "$W/scorer-$1.properties" <<EOF
application.id=$PREFIX-scorer
bootstrap.servers=$BOOTSTRAP
schema.registry.url=$REGISTRY
topics.rollouts.name=$PREFIX-rollouts
topics.rewards.name=$PREFIX-rewards
topics.group-advantages.name=$PREFIX-group-advantages
topics.rewardstream-dead-letters.name=$PREFIX-dlq
model.dir=$MODEL
model.warmup=false
model.intra.op.threads=1
model.inter.op.threads=1
state.dir=$W/state-$1
metrics.port=0
session.timeout.ms=6000
heartbeat.interval.ms=1500
transaction.timeout.ms=10000
group.timeout.ms=5000
replication.factor=1
EOF
}
start_scorer() {
  "${JAVA[@]}" -Xmx1g -cp "$CP" io.rewardstream.cli.Main score --config "$W/scorer-$1.properties" >> "$W/scorer-$1.log" 2>&1 &
  SCORER_PID[$1]=$!
  log "scorer $1 started, pid ${SCORER_PID[$1]}"
}
for i in 0 1; do write_scorer_config $i; start_scorer $i; done

# --- load and faults -------------------------------------------------------------------------------------------------
COUNT=$((SECONDS_TOTAL * RATE))
"${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver produce "$BOOTSTRAP" "$REGISTRY" "$PREFIX-rollouts" "$COUNT" "$RATE" "$PREFIX" \
  > "$W/producer.log" 2>&1 &
PRODUCER_PID=$!
log "producing $COUNT rollouts at $RATE/s for ~${SECONDS_TOTAL}s"
t0=$(date +%s); kills=0; broker_restarted=0; victim=0; next_kill=$((t0 + KILL_EVERY))
(( KILL_EVERY > 0 )) || next_kill=9999999999
(( BROKER_RESTART == 1 )) || broker_restarted=-1
peak_rss=0
sample_rss() {
  local p rss
  for p in "${SCORER_PID[@]}"; do
    rss=$(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0); (( rss > peak_rss )) && peak_rss=$rss
  done
  return 0
}
while kill -0 "$PRODUCER_PID" 2>/dev/null; do
  sleep 1
  now=$(date +%s)
  sample_rss
  if (( now >= next_kill )); then
    log "SIGKILL scorer $victim (pid ${SCORER_PID[$victim]})"
    kill -KILL "${SCORER_PID[$victim]}" 2>/dev/null || true
    wait "${SCORER_PID[$victim]}" 2>/dev/null || true
    kills=$((kills + 1))
    sleep 2
    start_scorer $victim
    victim=$(( (victim + 1) % 2 )); next_kill=$((now + KILL_EVERY))
  fi
  if (( broker_restarted == 0 && now - t0 >= SECONDS_TOTAL / 2 )); then
    log "broker restart: SIGTERM pid $BROKER_PID"
    kill -TERM "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
    sleep 3
    start_broker
    log "broker back, pid $BROKER_PID"
    broker_restarted=1
  fi
done
wait "$PRODUCER_PID" || { log "producer failed"; tail -5 "$W/producer.log"; exit 1; }
log "producer done: $(tail -1 "$W/producer.log")"
log "faults: $kills scorer SIGKILLs, $(( broker_restarted > 0 ? 1 : 0 )) broker restart(s)"

# --- exact count -----------------------------------------------------------------------------------------------------
set +e
( while :; do sample_rss; sleep 1; done ) & SAMPLER=$!   # (subshell: its peak is printed below from /proc VmHWM)
"${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver verify "$BOOTSTRAP" "$REGISTRY" "$PREFIX" "$COUNT" 240 2>"$W/verify.err" | tee "$W/verify.log"
rc=${PIPESTATUS[0]}
kill "$SAMPLER" 2>/dev/null
set -e
sample_rss
log "peak scorer RSS sampled while producing: $((peak_rss / 1024)) MB"
for i in 0 1; do
  p=${SCORER_PID[$i]}
  log "scorer $i (pid $p): peak RSS (VmHWM) $(( $(awk '/VmHWM/{print $2}' /proc/$p/status 2>/dev/null || echo 0) / 1024 )) MB; heap now:"
  "$JCMD" "$p" GC.heap_info 2>/dev/null | grep -E 'generation|Metaspace' || true
done
log "logs in $W"
exit "$rc"
