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
#   BENCH_WARMUP (300)  messages each relay run sends before it measures (the harness's --warmup): a fresh process
#                    on this VM needs more CPU per message at first, and that fell on whichever run of a cell came first
# The hostile cell (both relays, after the matrix): 20 sessions relay 5 KB mail while
# scripts/bench/dot-attack.mjs sends 34 MiB messages of ".." lines over 10 sessions from 127.0.0.2.
#   BENCH_HOSTILE_MESSAGES (BENCH_MESSAGES_SMALL)  ordinary messages of the cell
#   BENCH_HOSTILE_ROUNDS (5)  attack messages per attacking session at most (the attack also ends with the ordinary load)
# Fair peers in every cell: Postfix stock and, in the STARTTLS cells, Postfix with smtp_tls_connection_reuse=yes
# (Interchange reuses its TLS connections); Haraka in the plain cells (installed from ../shared/bench by its
# install-deps.sh when missing; BENCH_HARAKA=0 leaves it out); the harness ceiling (smtp-source straight to the
# sink, no relay) in the plain cells. Then the cell with everything on: 100 sessions, 5 KB, STARTTLS to the next
# hop, Verbose protocol logs on both connectors and message tracking (smtp-source cannot speak STARTTLS, so the
# load comes in plain). In every cell Interchange also runs with all logs off (tracking off too) and all on
# (Verbose on both connectors and tracking): what the logs cost.
#   BENCH_ONLY=hostile  only the hostile cell and its quiet reference (20 sessions, 5 KB, plain), for both relays;
#                    its page is written to $BENCH_OUT/benchmarks.md, docs/benchmarks.md left as it is
#   BENCH_ONLY=connectors  only scripts/bench/connector-scale.mjs: 10,000 Send connectors on a running transport
#                    (time to apply a change, slowest SMTP greeting during reloads, RSS); one summary line,
#                    docs/benchmarks.md left as it is
#   BENCH_CONNECTORS (10000)  Send connectors of that run
#   BENCH_ONLY=cell  only the matrix cell BENCH_CELL ("SESSIONS SIZE TLS", e.g. "100 102400 1"), with all its peers;
#                    its page is written to $BENCH_OUT/benchmarks.md, docs/benchmarks.md left as it is
#   BENCH_ONLY=tracking  only the quiet cell (20 sessions, 5 KB, plain) three ways: Interchange with message tracking
#                    (its default), Interchange without it, Postfix; then scripts/bench/tracking-search.mjs
#                    (Get-MessageTrackingLog's search over BENCH_TRACKING_GB (1) GB of MSGTRK files, beside grep);
#                    docs/benchmarks.md left as it is
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${BENCH_HARNESS:-$REPO/../shared/bench}
REPS=${BENCH_REPS:-1}
SMALL=${BENCH_MESSAGES_SMALL:-10000}
HOSTILE_MESSAGES=${BENCH_HOSTILE_MESSAGES:-$SMALL}
HOSTILE_ROUNDS=${BENCH_HOSTILE_ROUNDS:-5}
ONLY=${BENCH_ONLY:-}
case "$ONLY" in ''|hostile|connectors|tracking|cell) ;; *) echo "bench: BENCH_ONLY must be empty, 'hostile', 'cell', 'connectors' or 'tracking', not '$ONLY'" >&2; exit 2 ;; esac
CELL=${BENCH_CELL:-}
if [ "$ONLY" = cell ]; then
  case "$CELL" in
    '20 5120 0'|'100 5120 0'|'20 102400 0'|'100 102400 0'|'20 5120 1'|'100 5120 1'|'20 102400 1'|'100 102400 1') ;;
    *) echo "bench: BENCH_CELL must be \"SESSIONS SIZE TLS\" of a cell of the matrix (sessions 20 or 100, size 5120 or 102400, TLS 0 or 1), not '$CELL'" >&2; exit 2 ;;
  esac
fi
LARGE=${BENCH_MESSAGES_LARGE:-3000}
WARMUP=${BENCH_WARMUP:-300}
LISTEN=${BENCH_LISTEN:-23525}
NEXT_HOP=${BENCH_NEXT_HOP:-23526}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/icx-bench.XXXXXX)}
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: > "$RESULTS"
# The exact command, for the report.
{ env | grep -E '^BENCH_[A-Z_]+=' | grep -v '^BENCH_OUT=' | sort | tr '\n' ' '; echo npm run bench; } > "$OUT/command.txt"
if [ "$ONLY" = connectors ]; then
  # Needs no relay harness: the server and its greeting prober are the script's own.
  (cd "$REPO" && npx tsc -p tsconfig.json) || exit 1
  echo "=== connectors=${BENCH_CONNECTORS:-10000}" >&2
  for pace in 2 0; do
    node "$REPO/scripts/bench/connector-scale.mjs" --connectors "${BENCH_CONNECTORS:-10000}" --pace "$pace" 2>> "$OUT/stderr.log" | tee -a "$RESULTS"
  done
  echo "bench: results in $OUT" >&2
  exit 0
fi
[ -x "$HARNESS/relay-bench.sh" ] || { echo "bench: no harness at $HARNESS" >&2; exit 1; }
# A fresh machine: the harness's own installer brings smtp-source, smtp-sink and Postfix (no system MTA started).
if ! command -v smtp-source >/dev/null 2>&1; then
  "$HARNESS/install-deps.sh" >> "$OUT/stderr.log" 2>&1 || { echo "bench: the harness's packages could not be installed (see $OUT/stderr.log)" >&2; exit 1; }
fi
(cd "$REPO" && npm run build --silent) || exit 1
# The load generator, the same for every relay, used 1.6 to 6.8 s of CPU for the same 10,000 messages from run to
# run, CPU the relay then did not have on the two cores (those runs were slower). perf put the difference in page faults
# under memset: Postfix's allocator fills each connection's stream buffers when it allocates and frees them, and
# whether glibc had given those pages back to the kernel in between depended on timing. So smtp-source runs with
# malloc's trim threshold raised to 64 MiB: 1.9-3.2 s in 39 runs since (scripts/bench/notes.md).
SOURCE_DIR=$(mktemp -d /tmp/icx-bench-source.XXXXXX)
trap 'rm -rf "$SOURCE_DIR"' EXIT
SMTP_SOURCE=$(PATH="$PATH:/usr/sbin:/sbin" command -v smtp-source)
printf '#!/bin/sh\nGLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864 exec %s "$@"\n' "$SMTP_SOURCE" > "$SOURCE_DIR/smtp-source"
chmod +x "$SOURCE_DIR/smtp-source"
export PATH="$SOURCE_DIR:$PATH"
RELAY="$REPO/scripts/bench/interchange-relay.sh"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

run() { # name relay-cmd sessions size messages tls
  local tlsarg=()
  [ "$6" = 1 ] && tlsarg=(--tls)
  echo "=== $1 sessions=$3 size=$4 tls=$6" >&2
  local line
  line=$("$HARNESS/relay-bench.sh" --name "$1" --relay-cmd "$2" --listen "$LISTEN" --next-hop "$NEXT_HOP" \
    --messages "$5" --sessions "$3" --size "$4" --timeout 600 --warmup "$WARMUP" "${tlsarg[@]}" 2>> "$OUT/stderr.log")
  [ -n "$line" ] || line="relay=$1 messages=$5 sessions=$3 size=$4 tls=$6 status=harness_failed"
  echo "$line" | tee -a "$RESULTS"
  sleep 2
}

# hostile NAME RELAY-CMD: the relay under attack. The attack mail goes to attack.bench.invalid, which the relay
# routes to a next hop nobody listens on (it waits in the queue), so the harness's sink counts ordinary mail only.
# The attacker starts with the measured load (when smtp-source's stderr file appears in the run's log folder) and
# stops when the harness's monitor has written its result, after its rounds, or when the cell is over.
hostile() {
  local dir="$OUT/hostile-$1-$rep" line apid
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "=== $1 sessions=20 size=5120 tls=0 under attack: 10 sessions x 34 MiB dot lines, at most $HOSTILE_ROUNDS each" >&2
  node "$REPO/scripts/bench/dot-attack.mjs" --port "$LISTEN" --bind 127.0.0.2 --sessions 10 --size $((34 * 1024 * 1024)) \
    --rounds "$HOSTILE_ROUNDS" --deadline 900 --start-when "$dir/source.err" --stop-when "$dir/monitor.out" \
    --stop-when "$dir/cell-over" --sink-out "$dir/sink.out" > "$dir/attack.out" 2>> "$OUT/stderr.log" &
  apid=$!
  line=$(BENCH_ATTACK_DOMAIN=attack.bench.invalid "$HARNESS/relay-bench.sh" --name "$1" --relay-cmd "$2" --listen "$LISTEN" \
    --next-hop "$NEXT_HOP" --messages "$HOSTILE_MESSAGES" --sessions 20 --size 5120 --timeout 600 --log-dir "$dir" 2>> "$OUT/stderr.log")
  echo over > "$dir/cell-over"
  wait "$apid"
  [ -n "$line" ] || line="relay=$1 messages=$HOSTILE_MESSAGES sessions=20 size=5120 tls=0 status=harness_failed"
  echo "$line $(cat "$dir/attack.out")" | tee -a "$RESULTS"
  sleep 2
}

export BENCH_HARNESS=$HARNESS
HARAKA=0
if [ "${BENCH_HARAKA:-1}" = 1 ] && [ -z "$ONLY" ]; then
  if [ ! -x "${HARAKA_HOME:-/var/tmp/interchange-bench-haraka}/node_modules/.bin/haraka" ]; then
    "$HARNESS/install-deps.sh" >> "$OUT/stderr.log" 2>&1 || echo "bench: Haraka could not be installed (see $OUT/stderr.log); its column stays empty" >&2
  fi
  [ -x "${HARAKA_HOME:-/var/tmp/interchange-bench-haraka}/node_modules/.bin/haraka" ] && HARAKA=1
fi
# ceiling SESSIONS SIZE MESSAGES: the harness alone, smtp-source straight to the sink (plain only).
ceiling() {
  echo "=== ceiling sessions=$1 size=$2 tls=0" >&2
  local line
  line=$("$HARNESS/relay-bench.sh" --direct --name ceiling --next-hop "$NEXT_HOP" --messages "$3" --sessions "$1" --size "$2" --timeout 600 2>> "$OUT/stderr.log")
  [ -n "$line" ] || line="relay=ceiling messages=$3 sessions=$1 size=$2 tls=0 status=harness_failed"
  echo "$line" | tee -a "$RESULTS"
  sleep 2
}
if [ "$ONLY" = tracking ]; then
  # What message tracking costs the relay (issue 12: at most 10 %), beside Postfix in the same run.
  for ((rep = 1; rep <= REPS; rep++)); do
    run interchange "$RELAY" 20 5120 "$SMALL" 0
    BENCH_TRACKING=0 run interchange-no-tracking "$RELAY" 20 5120 "$SMALL" 0
    run postfix "$HARNESS/postfix-relay.sh" 20 5120 "$SMALL" 0
  done
  node "$REPO/scripts/bench/tracking-search.mjs" --gb "${BENCH_TRACKING_GB:-1}" | tee -a "$RESULTS"
  echo "bench: results in $OUT" >&2
  exit 0
fi
for ((rep = 1; rep <= REPS; rep++)); do
  if [ "$ONLY" = hostile ]; then
    run interchange "$RELAY" 20 5120 "$SMALL" 0
    run postfix "$HARNESS/postfix-relay.sh" 20 5120 "$SMALL" 0
    continue
  fi
  for tls in 0 1; do
    for size in 5120 102400; do
      for sessions in 20 100; do
        [ "$ONLY" = cell ] && [ "$sessions $size $tls" != "$CELL" ] && continue
        msgs=$SMALL
        [ "$size" -gt 10000 ] && msgs=$LARGE
        # Interchange three ways: its defaults; what the logs cost, every log off, then Verbose protocol logs on
        # both connectors and tracking. Each repetition starts with another of the three, so none is always first.
        for ((v = 0; v < 3; v++)); do
          case $(( (v + rep - 1) % 3 )) in
            0) run interchange "$RELAY" "$sessions" "$size" "$msgs" "$tls" ;;
            1) BENCH_TRACKING=0 run interchange-logs-off "$RELAY" "$sessions" "$size" "$msgs" "$tls" ;;
            2) BENCH_RECEIVE_LOGGING=Verbose BENCH_SEND_LOGGING=Verbose run interchange-logs-on "$RELAY" "$sessions" "$size" "$msgs" "$tls" ;;
          esac
        done
        run postfix "$HARNESS/postfix-relay.sh" "$sessions" "$size" "$msgs" "$tls"
        if [ "$tls" = 1 ]; then
          POSTFIX_TLS_REUSE=yes run postfix-reuse "$HARNESS/postfix-relay.sh" "$sessions" "$size" "$msgs" "$tls"
        else
          [ "$HARAKA" = 1 ] && run haraka "$HARNESS/haraka-relay.sh" "$sessions" "$size" "$msgs" "$tls"
          ceiling "$sessions" "$size" "$msgs"
        fi
      done
    done
  done
  if [ -z "$ONLY" ]; then
    # What an administrator runs in production: every log on, STARTTLS out, 100 sessions; and Postfix with reuse beside it.
    BENCH_RECEIVE_LOGGING=Verbose BENCH_SEND_LOGGING=Verbose run interchange-everything "$RELAY" 100 5120 "$SMALL" 1
    POSTFIX_TLS_REUSE=yes run postfix-reuse-everything "$HARNESS/postfix-relay.sh" 100 5120 "$SMALL" 1
  fi
done

for ((rep = 1; rep <= REPS; rep++)); do
  [ "$ONLY" = cell ] && break
  hostile interchange-hostile "$RELAY"
  hostile postfix-hostile "$REPO/scripts/bench/postfix-hostile-relay.sh"
done

SUSTAINED=${BENCH_SUSTAINED:-100000}
if [ "$SUSTAINED" -gt 0 ] && [ -z "$ONLY" ]; then
  BENCH_RSS_LOG="$OUT/sustained-rss.log" run interchange-sustained "$RELAY" 100 5120 "$SUSTAINED" 0
  run postfix-sustained "$HARNESS/postfix-relay.sh" 100 5120 "$SUSTAINED" 0
fi

if [ "${BENCH_PROFILE:-0}" = 1 ] && [ -z "$ONLY" ]; then
  mkdir -p "$OUT/profile"
  BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=$OUT/profile" run interchange-profiled "$RELAY" 20 5120 "$SMALL" 0
  for f in "$OUT"/profile/*.cpuprofile; do node "$REPO/scripts/bench/profile-summary.mjs" "$f" > "$OUT/profile/summary.txt"; done
fi

# Sections of separate runs (BENCH_ONLY=connectors, tracking), marked in the page, are carried over.
cp "$REPO/docs/benchmarks.md" "$OUT/previous-benchmarks.md" 2>/dev/null || true
if [ "$ONLY" = hostile ] || [ "$ONLY" = cell ]; then
  # One cell: its page goes beside the results, and the full run's page stays (copy a section over by hand).
  node "$REPO/scripts/bench/report.mjs" "$RESULTS" "$started" "$OUT" > "$OUT/benchmarks.md"
  echo "bench: results in $OUT, its page in $OUT/benchmarks.md (docs/benchmarks.md left as it is)" >&2
  exit 0
fi
node "$REPO/scripts/bench/report.mjs" "$RESULTS" "$started" "$OUT" > "$REPO/docs/benchmarks.md"
echo "bench: results in $OUT, table in docs/benchmarks.md" >&2
