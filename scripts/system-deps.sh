#!/usr/bin/env bash
# Installs the Debian packages that `make test` and `make bench` drive for real, and only
# those (no recommended extras): each is named with the reason below. Needs root or sudo;
# waits up to two minutes for another apt/dpkg to release its lock.
set -euo pipefail
declare -A why=(
  [pgbouncer]="transaction-pooling test (make test)"
  [chromium]="browser tests through Playwright (make test)"
  [redis-server]="Celery worker and shared rate-limit tests (make test)"
  [docker-compose]="validates docker-compose.yml without a Docker engine (make test)"
  [wrk]="HTTP load generator (make bench)"
  [dnsmasq-base]="a real DNS server for the custom-domain verification tests (make test)"
)
PATH="$PATH:/usr/sbin:/sbin"  # pgbouncer lives in sbin, not on a user's PATH
have() { command -v "$1" >/dev/null 2>&1; }
missing=()
for pkg in pgbouncer chromium redis-server docker-compose wrk; do
  have "$pkg" || missing+=("$pkg")
done
have dnsmasq || missing+=(dnsmasq-base)
((${#missing[@]})) || exit 0

echo "system-deps: installing Debian packages (without recommended extras):"
for pkg in "${missing[@]}"; do
  printf '  %-15s %s\n' "$pkg" "${why[$pkg]}"
done
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
apt=(apt-get -o DPkg::Lock::Timeout=120 -y -qq)
$sudo "${apt[@]}" update
DEBIAN_FRONTEND=noninteractive $sudo "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}"
