#!/usr/bin/env bash
# Installs what the notebooks need (first run only, the same environment as scripts/test.sh)
# and opens JupyterLab on notebooks/ (http://localhost:8888; the address with its token is
# printed below). Extra arguments go to JupyterLab (e.g. --no-browser --port 8890).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements-dev.txt
as_root=()
[ "$(id -u)" = 0 ] && as_root=(--allow-root)  # JupyterLab refuses root without it (containers)
exec jupyter lab --notebook-dir notebooks "${as_root[@]}" "$@"
