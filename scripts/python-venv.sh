#!/usr/bin/env bash
# Usage: scripts/python-venv.sh NAME REQUIREMENTS
# A venv under .local/NAME with the pinned PyPI packages of REQUIREMENTS, made once (a stamp skips pip while the
# pins are unchanged). Prints the venv's bin directory on stdout; pip's output goes to stderr. Used by CI (.ci/run)
# and the specs: the conformance suite's Python agent (python-socketio) and the contract tools (Schemathesis,
# openapi-spec-validator).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 NAME REQUIREMENTS" >&2; exit 2; }
venv=".local/$1"
req="$2"
stamp="$venv/.requirements"
[ -f "$req" ] || { echo "python-venv: no requirements file $req" >&2; exit 2; }
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
  echo "$PWD/$venv/bin"
  exit 0
fi
command -v python3 >/dev/null || { echo "python-venv: python3 is required (Debian: apt-get install python3 python3-venv)" >&2; exit 1; }
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
cp "$req" "$stamp"
echo "python-venv: $(grep -v '^#' "$req" | tr '\n' ' ')in $venv" >&2
echo "$PWD/$venv/bin"
