#!/usr/bin/env bash
# Installs the system packages the tests drive for real: PgBouncer (transaction
# pooling test) and Chromium (browser tests). Debian packages; needs root or sudo.
set -euo pipefail
missing=()
command -v pgbouncer >/dev/null 2>&1 || [[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# docker-compose (v1, Debian): validates docker-compose.yml without a Docker engine.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)

command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # load generator of `make bench`
# A real DNS server for the custom-domain verification tests.
command -v dnsmasq >/dev/null 2>&1 || [[ -x /usr/sbin/dnsmasq ]] || missing+=(dnsmasq-base)
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# promtool (`promtool check metrics` in the tests); the package, not the server's recommends.
if ! command -v promtool >/dev/null 2>&1; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "installing system package: prometheus (for promtool)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
