#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (Playwright from PyPI drives it with executable_path: it cannot
# download a browser build of its own here). Needs root, like .ci/with-postgres.sh installing PostgreSQL.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium: /usr/bin/chromium not found; install Debian's 'chromium' package (as root)" >&2
    exit 1
fi
echo "install-chromium: installing chromium from Debian's packages ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-liberation >/dev/null
