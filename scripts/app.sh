#!/usr/bin/env bash
# Installs what the app needs (first run only) and starts the MemberLab workbench on
# http://localhost:8501, on the embedded SQLite database loaded with the sample program.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" requirements.txt
exec streamlit run streamlit_app.py --server.headless true --browser.gatherUsageStats false "$@"
