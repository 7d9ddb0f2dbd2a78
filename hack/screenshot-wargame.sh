#!/usr/bin/env bash
# Screenshots of the war-game's HTML reports (docs/wargame/*.html) with headless Chromium, as
# docs/wargame/<scenario>.png. Rerunnable: regenerates the reports first unless --no-run.
#   hack/screenshot-wargame.sh [--no-run] [scenario…]   (default: outage)
# Needs Debian's `chromium` (apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
run=1
if [[ "${1:-}" == "--no-run" ]]; then run=0; shift; fi
scenarios=("${@:-outage}")
chrome="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$chrome" ]]; then
  echo "chromium not found: apt-get install chromium" >&2
  exit 2
fi
for s in "${scenarios[@]}"; do
  if [[ "$run" == 1 ]]; then
    node_modules/.bin/node wargame/cli.ts "wargame/scenarios/$s.yaml" --out docs/wargame --quiet
  fi
  html="$PWD/docs/wargame/$s.html"
  png="$PWD/docs/wargame/$s.png"
  # --no-sandbox: CI and dev containers run as root, where Chromium's sandbox cannot start.
  "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size=980,2300 --screenshot="$png" "file://$html" 2>/dev/null
  echo "wrote $png"
done
