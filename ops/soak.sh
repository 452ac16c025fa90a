#!/usr/bin/env bash
# Soak test (NOT run in CI): a KRaft broker in its own JVM (persistent log dir, so it can be restarted), Apicurio,
# two scorer processes sharing one application.id, a rate-limited rollout producer; while it runs, one scorer is
# SIGKILLed and restarted every SOAK_KILL_EVERY seconds and the broker is stopped (SIGTERM) and restarted once at half
# time. At the end: an exact-count check on the rewards topic (read_committed): every rollout rewarded exactly once,
# no dead letters. Exit 0 iff exact (and, with SOAK_RETRAIN=1, iff the retraining checks below hold).
#
# With SOAK_RETRAIN=1 (default) the retraining job runs too, in its own JVM, through the broker restart (it is not
# SIGKILLed): a built-in tiny model (the demo's cached one, else trained on addition at the start) is published as
# signed release 1; the scorers start on it and follow the release topic (model.root + public key dir); a pair
# producer feeds multiplication preference pairs at SOAK_PAIR_RATE/s; the job releases v2, v3, ... At the end (job
# stopped with SIGTERM): every produced pair id is in the job's replay buffer or below its committed offsets, every
# version is on the release topic exactly once (read_committed) and verifies (signature, digests), at least one
# release was published after the broker restart, and both scorers report the newest version on /metrics.
#
#   ops/soak.sh                                   # 3 minutes, 40 rollouts/s
#   SOAK_SECONDS=3600 SOAK_RATE=100 ops/soak.sh   # an hour
#
# Overload burst (no faults, one burst as fast as the producer goes, peak memory of the scorers reported):
#   SOAK_SECONDS=10 SOAK_RATE=2000 SOAK_KILL_EVERY=0 SOAK_BROKER_RESTART=0 SOAK_RETRAIN=0 ops/soak.sh
#
# Knobs: SOAK_SECONDS (180), SOAK_RATE rollouts/s (40), SOAK_KILL_EVERY seconds (30; 0 = never),
# SOAK_BROKER_RESTART (1; 0 = never), SOAK_PARTITIONS (4), SOAK_RETRAIN (1; 0 = no retraining job),
# SOAK_PAIR_RATE preference pairs/s, integer (2), SOAK_MIN_NEW_PAIRS (pairs per round; default total pairs / 8,
# at least 20), SOAK_RETRAIN_STEPS train_step calls per round (40),
# SOAK_DIR (target/soak-<timestamp>; logs of every process stay there), SOAK_ABORT_HANGING (1: 30 s after the broker is
# back and again when the producer is done, look for hanging transactions and abort them, the runbook step for Kafka
# 4.3's KAFKA-20734, see ops/HARDENING.md; 0: only report them). Needs only a JDK 17; binds 127.0.0.1 only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
SECONDS_TOTAL=${SOAK_SECONDS:-180}
RATE=${SOAK_RATE:-40}
KILL_EVERY=${SOAK_KILL_EVERY:-30}
BROKER_RESTART=${SOAK_BROKER_RESTART:-1}
PARTITIONS=${SOAK_PARTITIONS:-4}
RETRAIN=${SOAK_RETRAIN:-1}
PAIR_RATE=${SOAK_PAIR_RATE:-2}
PAIRS=$((SECONDS_TOTAL * PAIR_RATE))
MIN_NEW=${SOAK_MIN_NEW_PAIRS:-$(( PAIRS / 8 > 20 ? PAIRS / 8 : 20 ))}
RETRAIN_STEPS=${SOAK_RETRAIN_STEPS:-40}
ABORT_HANGING=${SOAK_ABORT_HANGING:-1}
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
  for p in "${SAMPLER:-}" "${SCORER_PID[@]:-}" "${PRODUCER_PID:-}" "${PAIRS_PID:-}" "${JOB_PID:-}" "${BROKER_PID:-}" "${REGISTRY_PID:-}"; do
    [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null || true
  done
  sleep 3
  for p in "${SCORER_PID[@]:-}" "${PRODUCER_PID:-}" "${PAIRS_PID:-}" "${JOB_PID:-}" "${BROKER_PID:-}" "${REGISTRY_PID:-}"; do
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
  "${JAVA[@]}" -Xmx1g -Drewardstream.kafka.txn.markers.log.level=INFO -cp "$CP" kafka.Kafka "$W/server.properties" \
    >> "$W/broker.log" 2>&1 &
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
if (( RETRAIN == 1 )); then
  "${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver retrain-topics "$BOOTSTRAP" "$PREFIX" "$PARTITIONS" \
    >> "$W/topics.log" 2>&1
  log "base model: release 1 (cached tiny model or trained now; see $W/base.log)..."
  MODEL=$("${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver base "$W/models" "$W/keys" "$BOOTSTRAP" "$REGISTRY" \
    "$PREFIX-releases" 2>>"$W/base.log" | tail -1)
  [[ -d "$MODEL" ]] || { log "no base release"; tail -20 "$W/base.log"; exit 1; }
  MODEL_NAME=$(basename "$(dirname "$MODEL")")
  log "release 1: $MODEL ($(grep '^base:' "$W/base.log" | head -1))"
fi

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
  if (( RETRAIN == 1 )); then
    cat >> "$W/scorer-$1.properties" <<EOF
model.root=$W/models
release.topic=$PREFIX-releases
release.public.keys.dir=$W/keys/pub
release.model.name=$MODEL_NAME
release.poll.ms=500
EOF
  fi
}
start_scorer() {
  "${JAVA[@]}" -Xmx1g -cp "$CP" io.rewardstream.cli.Main score --config "$W/scorer-$1.properties" >> "$W/scorer-$1.log" 2>&1 &
  SCORER_PID[$1]=$!
  log "scorer $1 started, pid ${SCORER_PID[$1]}"
}
for i in 0 1; do write_scorer_config $i; start_scorer $i; done

# --- retraining job (own JVM) ----------------------------------------------------------------------------------------
if (( RETRAIN == 1 )); then
  cat > "$W/retrain.properties" <<EOF
bootstrap.servers=$BOOTSTRAP
schema.registry.url=$REGISTRY
retrain.group.id=$PREFIX-retrain
topics.preferences.name=$PREFIX-prefs
topics.ranked-preferences.name=$PREFIX-ranked
topics.model-releases.name=$PREFIX-releases
topics.rewardstream-dead-letters.name=$PREFIX-retrain-dlq
retrain.min.new.pairs=$MIN_NEW
retrain.max.interval.ms=120000
retrain.steps=$RETRAIN_STEPS
retrain.batch.size=16
retrain.learning.rate=0.001
retrain.replay.dir=$W/replay
retrain.replay.mix=0.25
retrain.heldout.fraction=0.2
# the soak is about recovery, not quality: the gate only refuses a collapse (or NaN)
retrain.gate.tolerance=0.5
retrain.model.root=$W/models
retrain.model.name=$MODEL_NAME
retrain.base.model.dir=$MODEL
retrain.signing.key=$W/keys/release.key
retrain.signing.key.id=soak
metrics.port=0
kafka.group.instance.id=$PREFIX-retrain-0
kafka.session.timeout.ms=10000
EOF
  "${JAVA[@]}" -Xmx1g -cp "$CP" io.rewardstream.cli.Main retrain --config "$W/retrain.properties" \
    --ready-file "$W/retrain.ready" >> "$W/job.log" 2>&1 &
  JOB_PID=$!
  log "retraining job started, pid $JOB_PID (round every $MIN_NEW pairs, $RETRAIN_STEPS steps)"
fi

# --- load and faults -------------------------------------------------------------------------------------------------
COUNT=$((SECONDS_TOTAL * RATE))
"${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver produce "$BOOTSTRAP" "$REGISTRY" "$PREFIX-rollouts" "$COUNT" "$RATE" "$PREFIX" \
  "$( (( RETRAIN == 1 )) && echo text || echo ids)" > "$W/producer.log" 2>&1 &
PRODUCER_PID=$!
log "producing $COUNT rollouts at $RATE/s for ~${SECONDS_TOTAL}s"
if (( RETRAIN == 1 )); then
  "${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver pairs "$BOOTSTRAP" "$REGISTRY" "$PREFIX-prefs" "$PAIRS" \
    "$PAIR_RATE" > "$W/pairs.log" 2>&1 &
  PAIRS_PID=$!
  log "producing $PAIRS preference pairs at $PAIR_RATE/s"
fi
broker_back_ms=0; peak_job_rss=0; hanging_checked=0; hanging_report=""; hanging_aborted=0
# hanging transactions (a transaction open on a partition that its coordinator no longer has open: Kafka 4.3 skips
# the markers of leaderless partitions, which a graceful stop of the only broker makes, KAFKA-20734)
check_hanging() {
  local out f a
  out=$("${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver hanging "$BOOTSTRAP" 30000 \
    "$( (( ABORT_HANGING == 1 )) && echo abort || echo report)" 2>>"$W/hanging.err" | tee -a "$W/hanging.log") || true
  f=$(echo "$out" | sed -nE 's/^hanging: ([0-9]+) found, ([0-9]+) aborted.*/\1/p')
  a=$(echo "$out" | sed -nE 's/^hanging: ([0-9]+) found, ([0-9]+) aborted.*/\2/p')
  hanging_aborted=$((hanging_aborted + ${a:-0}))
  hanging_report="$hanging_report${hanging_report:+, }${f:-?} $1"
  log "hanging transactions $1: ${f:-?} found, ${a:-0} aborted$( [[ -n "$f" ]] || echo "; see $W/hanging.log")"
  return 0
}
t0=$(date +%s); kills=0; broker_restarted=0; victim=0; next_kill=$((t0 + KILL_EVERY))
(( KILL_EVERY > 0 )) || next_kill=9999999999
(( BROKER_RESTART == 1 )) || broker_restarted=-1
peak_rss=0
sample_rss() {
  local p rss
  for p in "${SCORER_PID[@]}"; do
    rss=$(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0); (( rss > peak_rss )) && peak_rss=$rss
  done
  if [[ -n "${JOB_PID:-}" ]]; then
    rss=$(awk '/VmHWM/{print $2}' /proc/$JOB_PID/status 2>/dev/null || echo 0); (( rss > peak_job_rss )) && peak_job_rss=$rss
  fi
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
    broker_back_ms=$(date +%s%3N)
    log "broker back, pid $BROKER_PID"
    broker_restarted=1
  fi
  if (( broker_restarted == 1 && hanging_checked == 0 && $(date +%s%3N) - broker_back_ms >= 30000 )); then
    check_hanging "30 s after the broker restart"; hanging_checked=1
  fi
done
wait "$PRODUCER_PID" || { log "producer failed"; tail -5 "$W/producer.log"; exit 1; }
log "producer done: $(tail -1 "$W/producer.log")"
log "faults: $kills scorer SIGKILLs, $(( broker_restarted > 0 ? 1 : 0 )) broker restart(s)"

if [[ -n "${PAIRS_PID:-}" ]]; then
  wait "$PAIRS_PID" || { log "pair producer failed"; tail -5 "$W/pairs.log"; exit 1; }
  log "pair producer done: $(tail -1 "$W/pairs.log")"
fi

check_hanging "when the producer was done"

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

# --- retraining checks -----------------------------------------------------------------------------------------------
set +e
rrc=0; scorer_versions=""; newest=""
if (( RETRAIN == 1 )); then
  if ! kill -0 "$JOB_PID" 2>/dev/null; then
    log "retraining job DIED (see $W/job.log)"; rrc=1
  else
    # let the job consume the last pairs and finish a round in progress: last round line 'committed', log quiet 10 s
    for _ in $(seq 1 300); do
      last=$(grep -E 'round [0-9]+: ' "$W/job.log" | tail -1)
      age=$(( $(date +%s) - $(stat -c %Y "$W/job.log") ))
      [[ "$last" == *": committed"* || -z "$last" ]] && (( age >= 10 )) && break
      sleep 1
    done
    newest=$(grep -oE "published $MODEL_NAME:[0-9]+" "$W/job.log" | tail -1 | sed 's/.*://')
    newest=${newest:-1}
    # the scorers' /metrics (the URL of each one's latest start); the watcher polls every 500 ms
    for _ in $(seq 1 60); do
      scorer_versions=""
      for i in 0 1; do
        url=$(grep -oE 'scorer started: .* metrics=http://[0-9.:]+' "$W/scorer-$i.log" | tail -1 | sed 's/.*metrics=//')
        v=$(curl -s --max-time 5 "$url/metrics" | awk '/^rewardstream_model_version/{print $2}' | head -1)
        scorer_versions="$scorer_versions${scorer_versions:+,}${v:-none}"
      done
      [[ "$scorer_versions" == "$newest.0,$newest.0" ]] && break
      sleep 1
    done
    sample_rss
    log "retraining job: $(grep -cE 'round [0-9]+: published' "$W/job.log") releases published, newest v$newest;\
 scorers report rewardstream_model_version $scorer_versions; stopping the job (SIGTERM)"
    kill -TERM "$JOB_PID"; wait "$JOB_PID" 2>/dev/null; JOB_PID=""
  fi
  "${JAVA[@]}" -cp "$CP" io.rewardstream.it.SoakDriver retrain-verify "$BOOTSTRAP" "$REGISTRY" "$PREFIX" "$PAIRS" \
    "$W/replay" "$W/models" "$W/keys/pub" "$broker_back_ms" "$scorer_versions" 2>"$W/retrain-verify.err" \
    | tee "$W/retrain-verify.log"
  (( PIPESTATUS[0] == 0 )) || rrc=1
fi

field() { echo "$1" | sed -nE "s/.*$2.*/\1/p"; }
v=$(grep '^verify:' "$W/verify.log" | head -1)
distinct=$(field "$v" 'distinct ([0-9]+)')
lag=$(grep '^verify-lag:' "$W/verify.log" | head -1)
log "SUMMARY: ${SECONDS_TOTAL}s; rollouts $COUNT, rewards $(field "$v" 'rewards ([0-9]+)'),\
 missing $(( COUNT - ${distinct:-0} ))${lag:+ (scorer group behind by $(field "$lag" 'behind the rollouts by ([0-9]+)'),\
 $(field "$lag" ', ([0-9]+) below its committed') below its committed offsets without reward)},\
 duplicated $(field "$v" 'duplicated ids ([0-9]+)'),\
 dead letters $(field "$v" 'dead letters ([0-9]+)'); scorer SIGKILLs $kills;\
 broker restarts $(( broker_restarted > 0 ? 1 : 0 )); hanging transactions ${hanging_report:-none checked} (aborted $hanging_aborted);\
 peak scorer RSS $((peak_rss / 1024)) MB"
if (( RETRAIN == 1 )); then
  r=$(grep '^retrain-verify:' "$W/retrain-verify.log")
  log "SUMMARY retrain: $PAIRS pairs, lost $(field "$r" ', lost ([0-9]+)');\
 releases $(field "$r" 'releases (\{[^}]*\})') (duplicated versions $(field "$r" 'duplicated versions ([0-9]+)'),\
 not verifying $(field "$r" 'not verifying ([0-9]+)'), after the broker restart\
 $(field "$r" 'after the broker restart (-?[0-9]+)')); scorers on $scorer_versions (newest v$newest);\
 peak job RSS $((peak_job_rss / 1024)) MB -> $( (( rrc == 0 )) && echo OK || echo FAILED)"
fi
log "logs in $W"
(( rc != 0 )) && exit "$rc"
exit "$rrc"
