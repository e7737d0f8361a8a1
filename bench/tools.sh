#!/usr/bin/env bash
# The load generators (wrk, hey) and the PostgreSQL server binaries that `make bench` drives.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v hey >/dev/null || missing+=(hey)
if ! command -v initdb >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing+=(postgresql postgresql-contrib)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
else
  echo "make bench needs: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
