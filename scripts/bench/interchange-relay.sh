#!/usr/bin/env bash
# The relay command for ../shared/bench/relay-bench.sh: a fresh Interchange
# server in a temp folder, a Receive connector on $BENCH_LISTEN_PORT for the
# load and a smart-host Send connector to $BENCH_NEXT_HOP_PORT. Stays in the
# foreground; SIGTERM stops the server and removes the folder.
#   BENCH_RECEIVE_LOGGING=Verbose   protocol-log the inbound sessions (default None, Exchange's default for a new connector)
#   BENCH_SEND_LOGGING=Verbose      protocol-log the outbound sessions
#   BENCH_NODE_OPTIONS              extra node options (e.g. --cpu-prof --cpu-prof-dir=DIR)
#   BENCH_RSS_LOG=FILE              sample the server's RSS into FILE once a second
#   BENCH_TRACKING=0                message tracking off (Set-TransportService -MessageTrackingLogEnabled $false;
#                                   on by default, as in Exchange)
#   BENCH_LOGS_TO=DIR               the protocol and tracking logs under DIR (a tmpfs shows what the logs' disk writes cost)
#   BENCH_ATTACK_DOMAIN=DOMAIN      route DOMAIN (the hostile cell's attack mail) to a next hop nobody listens on
#                                   (127.0.0.3), so it waits in the queue and the sink counts ordinary mail only
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$(mktemp -d /tmp/icx-bench-relay.XXXXXX)
ADMIN_PORT=$((BENCH_LISTEN_PORT + 200))
SETUP_SMTP_PORT=$((BENCH_LISTEN_PORT + 201))
export UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-16}
export INTERCHANGE_LOG_LEVEL=${INTERCHANGE_LOG_LEVEL:-warn}
export INTERCHANGE_STOP_GRACE_MS=500
# shellcheck disable=SC2086
node ${BENCH_NODE_OPTIONS:-} "$REPO/bin/interchange.js" serve --data "$DATA" --server BENCH --fqdn relay.bench.invalid \
  --smtp-port "$SETUP_SMTP_PORT" --admin-port "$ADMIN_PORT" &
PID=$!
# BENCH_RSS_LOG=FILE: the relay's resident memory once a second ("<epoch seconds> <kB>"), to show it stays flat.
if [ -n "${BENCH_RSS_LOG:-}" ]; then
  (while kill -0 "$PID" 2>/dev/null; do
    echo "$(date +%s.%N) $(awk '/^VmRSS/ {print $2}' "/proc/$PID/status" 2>/dev/null)" >> "$BENCH_RSS_LOG"
    sleep 1
  done) &
fi
cleanup() {
  # The harness signals the whole process group, so node usually has its SIGTERM
  # already; a second one would kill it before it finishes (and writes a --cpu-prof).
  (sleep 3; kill -TERM "$PID" 2>/dev/null) &
  wait "$PID" 2>/dev/null || true
  rm -rf "$DATA"
}
trap 'cleanup; exit 0' TERM INT

for _ in $(seq 1 300); do
  if [ -s "$DATA/admin-token" ] && curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/api/v1/health"; then break; fi
  sleep 0.1
done
TOKEN=$(cat "$DATA/admin-token")
invoke() {
  local out
  out=$(curl -s -X POST -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    "http://127.0.0.1:$ADMIN_PORT/api/v1/cmdlets/$1" -d "{\"parameters\":$2,\"confirmed\":true}")
  case "$out" in *'"ok":true'*) ;; *) echo "bench relay: $1 failed: $out" >&2; cleanup; exit 1 ;; esac
}
if [ "${BENCH_TRACKING:-1}" = 0 ]; then invoke Set-TransportService '{"Identity":"BENCH","MessageTrackingLogEnabled":false}'; fi
if [ -n "${BENCH_TRACKING_PATH:-}" ]; then invoke Set-TransportService "{\"Identity\":\"BENCH\",\"MessageTrackingLogPath\":\"$BENCH_TRACKING_PATH\"}"; fi
if [ -n "${BENCH_LOGS_TO:-}" ]; then
  invoke Set-TransportService "{\"Identity\":\"BENCH\",\"SendProtocolLogPath\":\"$BENCH_LOGS_TO/send\",\"ReceiveProtocolLogPath\":\"$BENCH_LOGS_TO/hub-recv\",\"MessageTrackingLogPath\":\"$BENCH_LOGS_TO/tracking\"}"
  invoke Set-FrontendTransportService "{\"Identity\":\"BENCH\",\"ReceiveProtocolLogPath\":\"$BENCH_LOGS_TO/fe-recv\"}"
fi
REQUIRE_TLS=false
[ "${BENCH_NEXT_HOP_TLS:-0}" = 1 ] && REQUIRE_TLS=true
invoke New-SendConnector "{\"Name\":\"Bench next hop\",\"AddressSpaces\":[\"*\"],\"SmartHosts\":[\"127.0.0.1\"],\"Port\":$BENCH_NEXT_HOP_PORT,\"DNSRoutingEnabled\":false,\"RequireTLS\":$REQUIRE_TLS,\"ProtocolLoggingLevel\":\"${BENCH_SEND_LOGGING:-None}\"}"
if [ -n "${BENCH_ATTACK_DOMAIN:-}" ]; then
  invoke New-SendConnector "{\"Name\":\"Bench attack hold\",\"AddressSpaces\":[\"$BENCH_ATTACK_DOMAIN\"],\"SmartHosts\":[\"127.0.0.3\"],\"Port\":$BENCH_NEXT_HOP_PORT,\"DNSRoutingEnabled\":false,\"ProtocolLoggingLevel\":\"None\"}"
fi
# The dot-line attack sends 34 MiB messages, over the organization's default MaxSendSize/MaxReceiveSize (10 MB):
# only the connector's MaxMessageSize limits them, as before those settings existed.
invoke Set-TransportConfig '{"MaxSendSize":"Unlimited","MaxReceiveSize":"Unlimited"}'
# The Receive connector last, enabled only once it may relay: the listener opens only when routing exists and
# anonymous senders may send to any domain (Exchange's anonymous relay grant), so no load meets a refusal.
invoke New-ReceiveConnector "{\"Name\":\"Bench\",\"Usage\":\"Custom\",\"Bindings\":[\"$BENCH_LISTEN_HOST:$BENCH_LISTEN_PORT\"],\"RemoteIPRanges\":[\"127.0.0.0/8\"],\"PermissionGroups\":[\"AnonymousUsers\"],\"ProtocolLoggingLevel\":\"${BENCH_RECEIVE_LOGGING:-None}\",\"Enabled\":false}"
invoke Add-ADPermission '{"Identity":"BENCH\\Bench","User":"NT AUTHORITY\\ANONYMOUS LOGON","ExtendedRights":["ms-Exch-SMTP-Accept-Any-Recipient"]}'
# smtp-source is one address standing for many clients, as Postfix sees it (its connection count limit exempts
# mynetworks): Exchange's per-source limits (20, and 2 % of the free connections) would refuse its 20 and 100 sessions
# with 421 4.3.2, since a session it has closed is not always gone on our side when it opens the next.
invoke Set-ReceiveConnector '{"Identity":"BENCH\\Bench","MaxInboundConnectionPerSource":"Unlimited","MaxInboundConnectionPercentagePerSource":100,"Enabled":true}'
wait "$PID"
