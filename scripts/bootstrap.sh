#!/usr/bin/env bash
# Shared set-up for scripts/app.sh, scripts/test.sh and scripts/notebooks.sh: a project
# virtualenv with the requirements at the exact versions of constraints.txt and the project
# itself installed editable (its packages import from any folder once the environment is
# active). Reinstalled only when a requirements file, constraints.txt or pyproject.toml
# changes. Sourced, not executed; the argument names the requirements file.
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
wanted="$(cd "$MEMBERLAB_ROOT" && cat requirements*.txt constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
# requirements-dev.txt includes requirements.txt: an environment installed for it serves both.
superset="$VENV/.memberlab-requirements-dev.txt.sha256"
installed() { [ -f "$1" ] && [ "$(cat "$1")" = "$wanted" ]; }
if ! installed "$stamp" && ! installed "$superset"; then
    echo "MemberLab: installing Python packages from $REQUIREMENTS (versions: constraints.txt) ..." >&2
    started=$SECONDS
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$MEMBERLAB_ROOT/constraints.txt" -r "$MEMBERLAB_ROOT/$REQUIREMENTS" \
        -e "$MEMBERLAB_ROOT"
    echo "$wanted" > "$stamp"
    echo "MemberLab: installed in $((SECONDS - started)) s" >&2
fi

export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
cd "$MEMBERLAB_ROOT"
