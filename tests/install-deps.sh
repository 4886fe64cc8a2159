#!/usr/bin/env bash
# Installs what the tests need beyond pip, from the project's own lists:
#   tests/apt-packages.txt  Debian packages (one per line; '#' comments), installed with apt-get when missing
#   tests/npm-folders.txt   folders with a package.json + package-lock.json, installed with `npm ci`
# Run by the README's test command (and so by .ci/run). Idempotent: installed packages are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
want() { grep -v '^\s*#' "$1" 2>/dev/null | awk 'NF {print $1}'; }
missing=()
for pkg in $(want tests/apt-packages.txt); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for folder in $(want tests/npm-folders.txt); do
  if [ ! -d "$folder/node_modules" ] || [ "$folder/package-lock.json" -nt "$folder/node_modules" ]; then
    npm ci --prefix "$folder" --no-audit --no-fund --silent
  fi
done
