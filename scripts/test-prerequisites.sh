#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest): makes sure what the specs need outside npm is on the
# machine, installing it when it can, so that `npm install` then `npm test` pass on a fresh machine.
#   - Debian's chromium (and the Liberation fonts the editor's screenshots use, and a Devanagari font
#     for the editor in Hindi) for test/browser;
#   - a PostgreSQL on 127.0.0.1:5432 (or PGHOST:PGPORT) for the PostgreSQL store's specs.
# Installing needs root or sudo without a password; otherwise it stops with what to install.
# Nothing is skipped: a spec that needs what is missing would fail, so this fails first, saying why.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "test-prerequisites: $*" >&2; }

missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)
[ -d /usr/share/fonts/truetype/lohit-devanagari ] || missing+=(fonts-lohit-deva)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    say "the browser specs need ${missing[*]}: install them (apt-get install -y ${missing[*]}) and run npm test again"
    exit 1
  fi
  command -v apt-get >/dev/null 2>&1 || { say "no apt-get: install ${missing[*]} yourself (Chromium at /usr/bin/chromium, or set CHROMIUM_PATH)"; exit 1; }
  say "installing ${missing[*]} (Debian's packages) for the browser specs"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/ensure-postgres.sh
