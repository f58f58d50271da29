#!/usr/bin/env bash
# npm run bench: Interchange as an SMTP relay against Postfix in the same run,
# with ../shared/bench/relay-bench.sh (smtp-source -> relay -> smtp-sink, or a
# STARTTLS next hop with --tls). Both relays are durable (fsync before 250).
# Configurations: 20 and 100 sessions x 5 KB and 100 KB x plain and STARTTLS
# to the next hop; Interchange and Postfix alternate within each. Writes every
# summary line to $OUT/results.txt and the table to docs/benchmarks.md.
#   BENCH_REPS (1)  BENCH_MESSAGES_SMALL (10000)  BENCH_MESSAGES_LARGE (3000)
#   BENCH_HARNESS (../shared/bench)  BENCH_LISTEN (23525)  BENCH_NEXT_HOP (23526)
#   BENCH_SUSTAINED (100000)  messages of the sustained run (100 sessions, 5 KB, plain; 0 skips it),
#                    with Interchange's RSS sampled once a second to show memory stays flat
#   BENCH_PROFILE=1  one more Interchange run (20 sessions, 5 KB) under node --cpu-prof
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${BENCH_HARNESS:-$REPO/../shared/bench}
REPS=${BENCH_REPS:-1}
SMALL=${BENCH_MESSAGES_SMALL:-10000}
LARGE=${BENCH_MESSAGES_LARGE:-3000}
LISTEN=${BENCH_LISTEN:-23525}
NEXT_HOP=${BENCH_NEXT_HOP:-23526}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/icx-bench.XXXXXX)}
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: > "$RESULTS"
[ -x "$HARNESS/relay-bench.sh" ] || { echo "bench: no harness at $HARNESS" >&2; exit 1; }
(cd "$REPO" && npm run build --silent) || exit 1
RELAY="$REPO/scripts/bench/interchange-relay.sh"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

run() { # name relay-cmd sessions size messages tls
  local tlsarg=()
  [ "$6" = 1 ] && tlsarg=(--tls)
  echo "=== $1 sessions=$3 size=$4 tls=$6" >&2
  local line
  line=$("$HARNESS/relay-bench.sh" --name "$1" --relay-cmd "$2" --listen "$LISTEN" --next-hop "$NEXT_HOP" \
    --messages "$5" --sessions "$3" --size "$4" --timeout 600 "${tlsarg[@]}" 2>> "$OUT/stderr.log")
  [ -n "$line" ] || line="relay=$1 messages=$5 sessions=$3 size=$4 tls=$6 status=harness_failed"
  echo "$line" | tee -a "$RESULTS"
  sleep 2
}

for ((rep = 1; rep <= REPS; rep++)); do
  for tls in 0 1; do
    for size in 5120 102400; do
      for sessions in 20 100; do
        msgs=$SMALL
        [ "$size" -gt 10000 ] && msgs=$LARGE
        run interchange "$RELAY" "$sessions" "$size" "$msgs" "$tls"
        run postfix "$HARNESS/postfix-relay.sh" "$sessions" "$size" "$msgs" "$tls"
      done
    done
  done
done

SUSTAINED=${BENCH_SUSTAINED:-100000}
if [ "$SUSTAINED" -gt 0 ]; then
  BENCH_RSS_LOG="$OUT/sustained-rss.log" run interchange-sustained "$RELAY" 100 5120 "$SUSTAINED" 0
  run postfix-sustained "$HARNESS/postfix-relay.sh" 100 5120 "$SUSTAINED" 0
fi

if [ "${BENCH_PROFILE:-0}" = 1 ]; then
  mkdir -p "$OUT/profile"
  BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=$OUT/profile" run interchange-profiled "$RELAY" 20 5120 "$SMALL" 0
  for f in "$OUT"/profile/*.cpuprofile; do node "$REPO/scripts/bench/profile-summary.mjs" "$f" > "$OUT/profile/summary.txt"; done
fi

node "$REPO/scripts/bench/report.mjs" "$RESULTS" "$started" "$OUT" > "$REPO/docs/benchmarks.md"
echo "bench: results in $OUT, table in docs/benchmarks.md" >&2
