#!/usr/bin/env bash
# Installs the system packages the full test suite uses: Chromium (real-browser tests),
# CJK fonts (Chinese screenshots) and PostgreSQL (database tests). Needs root and apt-get;
# elsewhere it says what is missing and the tests that need it skip with that message.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "MemberLab: cannot install ${need[*]} (needs root and apt-get); tests that need them will skip." >&2
    exit 0
fi
echo "MemberLab: installing system packages: ${need[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a PostgreSQL cluster on install; the tests run their own throwaway one.
