#!/usr/bin/env bash
# Shared set-up for scripts/app.sh and scripts/test.sh: a project virtualenv with the pinned
# requirements, reinstalled only when a requirements file changes. Sourced, not executed.
set -euo pipefail

MEMBERLAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MEMBERLAB_ROOT
VENV="${MEMBERLAB_VENV:-$MEMBERLAB_ROOT/.venv}"
REQUIREMENTS="${1:-requirements.txt}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "MemberLab: creating the Python environment in $VENV ..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi

stamp="$VENV/.memberlab-$(basename "$REQUIREMENTS").sha256"
wanted="$(cat "$MEMBERLAB_ROOT"/requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "MemberLab: installing Python packages from $REQUIREMENTS ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$MEMBERLAB_ROOT/$REQUIREMENTS"
    echo "$wanted" > "$stamp"
fi

export PATH="$VENV/bin:$PATH"
export PYTHONPATH="$MEMBERLAB_ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$MEMBERLAB_ROOT"
