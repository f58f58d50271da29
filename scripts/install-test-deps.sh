#!/usr/bin/env bash
# Installs what the tests need when it is missing. Idempotent: a machine that
# already has everything spends a second here.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
# swaks needs the two Perl TLS modules for --tls (they are only "recommended", so name them).
# systemd only for systemd-analyze (the unit test); these machines do not boot it.
# prometheus (server and promtool) for the metrics test, which runs its own instance on a port of its own.
# pebble (pebble and pebble-challtestsrv) is the ACME server of the ACME tests (test/acme), started on ports of their own.
# bind9 (named) is the RFC 2136 update server of the dns-01 tests, started as the test's own instance on a port of its own.
for pkg in postfix swaks libnet-ssleay-perl libio-socket-ssl-perl openssl tmux chromium postgresql systemd prometheus pebble bind9; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# ip (netns, veth, bridge) for the namespace lab (test/lab); a slim image may lack it.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Postfix must not start a system MTA on port 25, Prometheus one on 9090, nor BIND one on 53: the tests run their own instances.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
