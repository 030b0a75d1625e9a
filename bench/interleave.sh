#!/usr/bin/env bash
# Quick A/B beside the decompression floor: N rounds, each runs `git cat-file --batch` over the
# blob list, then every given CLI bundle on the same 1-series query; prints the median of each.
#   bench/interleave.sh N GITDIR BLOBLIST [CLI_BUNDLE...]   (default bundle: dist/cli.js)
# BLOBLIST: one blob id per line, the blobs the sampled commits hold (see bench/README.md).
# Each bundle is copied over dist/cli.js in turn; the original is restored at the end.
set -euo pipefail
N=$1 GITDIR=$2 BLOBS=$3; shift 3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
END=${END:-2026-08-20T07:30:52-07:00}
[ $# -gt 0 ] || set -- "$ROOT/dist/cli.js"
SAVED=$(mktemp); cp "$ROOT/dist/cli.js" "$SAVED"; trap 'cp "$SAVED" "$ROOT/dist/cli.js"; rm -f "$SAVED"' EXIT
now() { date +%s.%N; }
for _ in $(seq "$N"); do
  s=$(now); git --git-dir="$GITDIR" cat-file --batch < "$BLOBS" > /dev/null; echo "floor $(echo "$(now) - $s" | bc)"
  for c in "$@"; do
    cp "$c" "$ROOT/dist/cli.js.ab"; mv "$ROOT/dist/cli.js.ab" "$ROOT/dist/cli.js"
    s=$(now); node "$ROOT/bin/code-insights.js" series "$GITDIR" -q TODO --step week --points 52 --end "$END" --no-cache > /dev/null
    echo "$(basename "$c") $(echo "$(now) - $s" | bc)"
  done
done | awk '{v[$1]=v[$1]" "$2} END {for (k in v) {n=split(v[k],a," "); asort(a); print k, "median", a[int((n+1)/2)], "runs", v[k]}}'
