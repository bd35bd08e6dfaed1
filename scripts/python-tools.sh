#!/usr/bin/env bash
# Idempotent: a venv under .local/ with the PyPI tools the contract specs run (a real OpenAPI validator and
# Schemathesis). Pinned so CI runs the same checks every time; a stamp skips pip when the pins are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.local/pytools
PINS="schemathesis==4.32.5 openapi-spec-validator==0.9.0"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.pins" 2>/dev/null)" = "$PINS" ]; then
  echo "$PWD/$VENV/bin"
  exit 0
fi
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS >&2
echo "$PINS" > "$VENV/.pins"
echo "$PWD/$VENV/bin"
