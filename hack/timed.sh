#!/usr/bin/env bash
# timed.sh LABEL CMD... — runs CMD, records how long it took; `timed.sh --summary` prints the
# table (where a `make test` run spends its time). Timings go to .cache/timings.tsv.
set -euo pipefail
file="$(git rev-parse --show-toplevel 2>/dev/null || pwd)/.cache/timings.tsv"
mkdir -p "$(dirname "$file")"
if [ "${1:-}" = "--summary" ]; then
  echo "== where the time went =="
  awk -F'\t' '{ printf "%-32s %7.1fs\n", $1, $2; t += $2 } END { printf "%-32s %7.1fs\n", "total", t }' "$file"
  rm -f "$file"
  exit 0
fi
label=$1; shift
start=$(date +%s.%N)
status=0
"$@" || status=$?
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
printf '%s\t%s\n' "$label" "$secs" >> "$file"
echo "[time] $label: ${secs}s" >&2
exit $status
