#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages pinmap needs, only those missing: `run` for serving,
# `test` adds Chromium for the browser tests, `bench` those and wrk (the HTTP load tool of
# bench/api_load.py). Uses sudo when not root.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
pg_ok=no
for v in 15 16 17; do
  if have "postgresql-$v" && have "postgresql-$v-postgis-3"; then pg_ok=yes; fi
done
if [ "$pg_ok" = no ]; then
  pgv=15
  if ! apt-cache show postgresql-15 >/dev/null 2>&1; then
    # Ubuntu 24.04 ships 16; any major with PostGIS 3 works.
    pgv=$(apt-cache search --names-only '^postgresql-[0-9]+-postgis-3$' | sed -E 's/^postgresql-([0-9]+).*/\1/' | sort -n | tail -1)
  fi
  need+=("postgresql-${pgv:-15}" "postgresql-${pgv:-15}-postgis-3")
fi
command -v npm >/dev/null || need+=(nodejs npm)
# WeasyPrint (the PDF reports) draws text with pango (libthai breaks Thai lines between words).
for p in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libthai0; do have "$p" || need+=("$p"); done
if [ "${1:-run}" = test ] || [ "${1:-run}" = bench ]; then
  have chromium || command -v chromium >/dev/null || need+=(chromium)
  # The tests drive Chromium's headless build (lighter); distributions without it use chromium.
  if ! have chromium-headless-shell && apt-cache show chromium-headless-shell >/dev/null 2>&1; then
    need+=(chromium-headless-shell)
  fi
  have fonts-thai-tlwg || need+=(fonts-thai-tlwg)
fi
if [ "${1:-run}" = bench ]; then
  command -v wrk >/dev/null || need+=(wrk)
fi
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
