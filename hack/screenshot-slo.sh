#!/usr/bin/env bash
# screenshot-slo.sh REPORT.html [OUT.png] — renders an SLO report page (`vaultmesh slo-report
# --html`) with Debian's headless Chromium at 1920×1080 into OUT.png (default docs/slo-report.png).
# Installs the `chromium` package with apt-get when it is missing (root; not part of `make deps`:
# only this script needs it). ADR 0116.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
html=${1:?usage: hack/screenshot-slo.sh REPORT.html [OUT.png]}
out=${2:-$root/docs/slo-report.png}
[ -f "$html" ] || { echo "screenshot-slo: no such file: $html" >&2; exit 2; }
if ! command -v chromium >/dev/null 2>&1; then
  echo "screenshot-slo: installing Debian's chromium (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
mkdir -p "$(dirname "$out")"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --virtual-time-budget lets the page's script draw the charts before the capture.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1920,1080 --virtual-time-budget=5000 \
  --screenshot="$out" "file://$html" 2>/dev/null
[ -s "$out" ] || { echo "screenshot-slo: chromium wrote no screenshot" >&2; exit 1; }
echo "$out"
