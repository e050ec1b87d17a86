#!/usr/bin/env bash
# The API fuzzer's Python environment: schemathesis (pinned) from PyPI in a venv under .cache/,
# made once and reused; the integration suite's fuzz test runs .cache/fuzz-venv/bin/st.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCHEMATHESIS_VERSION=4.32.5
venv=.cache/fuzz-venv
if [[ -x $venv/bin/st ]] && [[ "$($venv/bin/python -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" == "$SCHEMATHESIS_VERSION" ]]; then
  exit 0
fi
# Debian's python3 (the one with venv and ensurepip); any python3 >= 3.9 works.
py=/usr/bin/python3
[[ -x $py ]] || py=python3
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
"$venv/bin/st" --version
