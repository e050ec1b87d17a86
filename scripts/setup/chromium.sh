#!/usr/bin/env bash
# Debian's Chromium for the console's browser test (src/console/console.browser.test.ts), which
# playwright-core drives at /usr/bin/chromium (no browser download). The test fails, never skips,
# when Chromium cannot start, so CI installs it first.
set -euo pipefail
BIN=/usr/bin/chromium
if [[ -x "$BIN" ]]; then
  echo "chromium: present ($("$BIN" --version 2>/dev/null | head -1))"
  exit 0
fi
[[ "$(id -u)" == 0 ]] || { echo "chromium: missing; as root: apt-get install -y chromium" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# A fresh image has no package lists: without an update the first install attempt fails.
apt-get -o DPkg::Lock::Timeout=300 update || true
for i in 1 2 3; do
  if apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium; then break; fi
  echo "chromium: apt-get install failed (attempt $i/3); apt-get update and retry" >&2
  apt-get -o DPkg::Lock::Timeout=300 update || true
  sleep 5
done
[[ -x "$BIN" ]] || { echo "chromium: could not install chromium" >&2; exit 1; }
echo "chromium: installed ($("$BIN" --version 2>/dev/null | head -1))"
