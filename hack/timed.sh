#!/usr/bin/env bash
# timed.sh LABEL CMD... — runs CMD, records how long it took; `timed.sh --summary` prints the
# table (where a `make test` run spends its time). Timings go to .cache/timings.tsv.
# `timed.sh --part LABEL CMD...` records a step that ran at the same time as others inside a timed
# step (hack/go-tools.sh's builds): listed indented under it and left out of the total.
set -euo pipefail
file="$(git rev-parse --show-toplevel 2>/dev/null || pwd)/.cache/timings.tsv"
mkdir -p "$(dirname "$file")"
if [ "${1:-}" = "--summary" ]; then
  echo "== where the time went =="
  # A step's parts are recorded before the step itself ends: print them after it.
  awk -F'\t' '$3 == "part" { parts = parts sprintf("  %-30s %7.1fs\n", $1, $2); next }
    { printf "%-32s %7.1fs\n%s", $1, $2, parts; parts = ""; t += $2 }
    END { printf "%s%-32s %7.1fs\n", parts, "total", t }' "$file"
  rm -f "$file"
  exit 0
fi
part=
if [ "${1:-}" = "--part" ]; then part=part; shift; fi
label=$1; shift
start=$(date +%s.%N)
status=0
"$@" || status=$?
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
printf '%s\t%s\t%s\n' "$label" "$secs" "$part" >> "$file"
echo "[time] ${part:+  }$label: ${secs}s" >&2
exit $status
