#!/usr/bin/env bash
# The venv of the conformance suite's Python agent (python-socketio from PyPI), under .local/. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
req=apps/gateway/src/conformance/requirements.txt
venv=.local/pyagent
stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then exit 0; fi
command -v python3 >/dev/null || { echo "python-agent-venv: python3 is required (Debian: apt-get install python3 python3-venv)" >&2; exit 1; }
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$stamp"
echo "python-agent-venv: python-socketio $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("python-socketio"))') in $venv"
