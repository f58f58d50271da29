#!/usr/bin/env bash
# The hostile cell's Postfix: ../shared/bench/postfix-relay.sh as shipped, with two
# parameters set through its PF_PRE_START hook before the master starts:
#   message_size_limit = 36700160   Exchange's MaxMessageSize (35 MB); Postfix's default (10240000)
#                                   would refuse the 34 MB attack messages with 552 instead of reading them
#   transport_maps                  $BENCH_ATTACK_DOMAIN to [127.0.0.3]:$BENCH_NEXT_HOP_PORT, where nobody
#                                   listens: the attack mail waits in the queue, the sink counts ordinary mail only
# (the same as interchange-relay.sh does with BENCH_ATTACK_DOMAIN).
set -euo pipefail
HARNESS=${BENCH_HARNESS:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/bench}
hostile_postfix() {
  postconf -c "$1/conf" -e message_size_limit=36700160 \
    "transport_maps = inline:{ ${BENCH_ATTACK_DOMAIN:?}=smtp:[127.0.0.3]:$BENCH_NEXT_HOP_PORT }"
}
export -f hostile_postfix
export PF_PRE_START=hostile_postfix
exec "$HARNESS/postfix-relay.sh" "$@"
