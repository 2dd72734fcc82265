#!/usr/bin/env bash
# Install the system libraries WeasyPrint (the plan as a PDF, services/web) draws with: Pango (with HarfBuzz and
# fontconfig) and a font, from Debian's packages. Needs root, like .ci/install-chromium.sh.
set -euo pipefail
if ldconfig -p | grep -q 'libpango-1.0.so.0' && ldconfig -p | grep -q 'libpangoft2-1.0.so.0' \
   && fc-list 2>/dev/null | grep -qi 'liberation sans\|dejavu sans'; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-weasyprint-libs: Pango or a font is missing; install Debian's 'libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation' (as root)" >&2
    exit 1
fi
echo "install-weasyprint-libs: installing Pango and fonts from Debian's packages ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation fontconfig >/dev/null
