#!/usr/bin/env bash
# Installs everything the tests need (first run only) and runs lint, format check and the
# test suite, notebooks included, in two worker processes (pytest-xdist; modules stay whole on
# one worker so their fixtures are built once). Extra arguments go to pytest (e.g. -m slow, -n 0).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements-dev.txt
bash scripts/system-packages.sh
echo "MemberLab: ruff check + format check" >&2
ruff check .
ruff format --check .
echo "MemberLab: import contracts (.importlinter: app -> simulations -> store -> policies)" >&2
lint-imports --no-cache
python -m pytest -m "not slow" --nbmake -n 2 --dist loadscope tests notebooks "$@"
