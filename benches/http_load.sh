#!/usr/bin/env bash
# Load test of `grove serve --http` on loopback with wrk (not run in CI).
#
#   benches/http_load.sh [REPO_SOURCE [NAME]]
#
# Builds the release binary, clones REPO_SOURCE (default: the flask mirror)
# into $OUT, indexes HEAD into a fresh index, starts `grove serve`, and runs
# wrk against a few searches and a symbol lookup at several concurrency
# levels, then once more while an index job (JOB_COMMITS commits of history) runs. Writes a
# markdown table to $OUT/results-NAME.md and prints it.
#
# Needs wrk (Debian: apt-get install -y wrk). Knobs (environment):
# DURATION (10s), CONCURRENCY ("1 4 16 64"), THREADS (2), PORT (7879),
# OUT (/tmp/grove-http-load), JOB_COMMITS and JOB_STEP (the index job indexes
# that many first-parent commits, every JOB_STEP-th; 3000 and 1),
# GROVE (a grove binary to use instead of building one).
set -euo pipefail

SRC=${1:-/work/.mirror/pallets+flask/repo}
NAME=${2:-flask}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-"1 4 16 64"}
THREADS=${THREADS:-2}
PORT=${PORT:-7879}
OUT=${OUT:-/tmp/grove-http-load}
JOB_COMMITS=${JOB_COMMITS:-3000}
JOB_STEP=${JOB_STEP:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
B=http://127.0.0.1:$PORT

command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }
if [ -z "${GROVE:-}" ]; then
  (cd "$ROOT" && nice -n 10 cargo build --release --locked -p grove-cli)
  GROVE=$TARGET/release/grove
fi

mkdir -p "$OUT"
CHECKOUT=$OUT/$NAME
[ -d "$CHECKOUT" ] || git clone -q "$SRC" "$CHECKOUT"
INDEX=$OUT/index-$NAME
rm -rf "$INDEX"
echo "indexing HEAD of $NAME..." >&2
"$GROVE" --repo "$CHECKOUT" --index-dir "$INDEX" index >&2

"$GROVE" --index-dir "$INDEX" serve --http "127.0.0.1:$PORT" "$NAME=$CHECKOUT" 2>"$OUT/server-$NAME.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done

LUA=$OUT/post.lua
cat >"$LUA" <<'EOF'
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
EOF

# What to ask: defaults suit flask; for git/git e.g. LITERAL=strbuf_addf
# REGEX='die\(_\("[a-z]+' ICASE=signed-off-by SYMBOL=strbuf_addf.
LITERAL=${LITERAL:-url_for}
REGEX=${REGEX:-'def \w+json'}
ICASE=${ICASE:-session}
SYMBOL=${SYMBOL:-Blueprint}
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# label @@ method @@ path (GET) or JSON body (POST)
QUERIES=(
  "search literal \`$LITERAL\`@@GET@@/v1/repos/$NAME/search?pattern=$(urlencode "$LITERAL")&max_results=100"
  "search regex \`$REGEX\`@@GET@@/v1/repos/$NAME/search?pattern=$(urlencode "$REGEX")&max_results=100"
  "search -i \`$ICASE\` (cut at 100)@@GET@@/v1/repos/$NAME/search?pattern=$(urlencode "$ICASE")&ignore_case=true&max_results=100"
  "search POST \`TODO\\|FIXME\` + 1 line context@@POST@@{\"pattern\": \"TODO|FIXME\", \"context\": 1, \"max_results\": 100}"
  "symbols \`$SYMBOL\`@@GET@@/v1/repos/$NAME/symbols?query=$(urlencode "$SYMBOL")&limit=20"
)

RESULTS=$OUT/results-$NAME.md
{
  echo "| query | concurrency | requests/s | p50 | p90 | p99 | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$RESULTS"

# run_wrk LABEL CONCURRENCY METHOD TARGET
run_wrk() {
  local label=$1 c=$2 method=$3 target=$4 out t=$THREADS
  [ "$c" -lt "$t" ] && t=$c
  if [ "$method" = POST ]; then
    out=$(BODY=$target wrk -t"$t" -c"$c" -d"$DURATION" --latency -s "$LUA" "$B/v1/repos/$NAME/search")
  else
    out=$(wrk -t"$t" -c"$c" -d"$DURATION" --latency "$B$target")
  fi
  local rps p50 p90 p99 bad
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p90=$(awk '$1 == "90%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "| $label | $c | $rps | $p50 | $p90 | $p99 | ${bad:-0} |" | tee -a "$RESULTS" >&2
}

# Warm up: the first symbol query builds the syntax side index.
for q in "${QUERIES[@]}"; do
  target=${q##*@@}; rest=${q%@@*}; method=${rest##*@@}
  if [ "$method" = GET ]; then curl -sf "$B$target" >/dev/null; fi
done

for q in "${QUERIES[@]}"; do
  target=${q##*@@}; rest=${q%@@*}; method=${rest##*@@}; label=${rest%@@*}
  for c in $CONCURRENCY; do
    run_wrk "$label" "$c" "$method" "$target"
  done
done

# While an index job runs: JOB_COMMITS first-parent commits of history
# (every JOB_STEP-th), into the same index.
REVS=$(git -C "$CHECKOUT" rev-list --first-parent HEAD | awk -v max="$JOB_COMMITS" -v step="$JOB_STEP" 'NR % step == 0 && ++n <= max' | sed 's/.*/"&"/' | paste -sd, -)
JOB=$(curl -sf -H 'Content-Type: application/json' -d "{\"revs\": [$REVS]}" "$B/v1/repos/$NAME/index")
ID=$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' <<<"$JOB")
job_status() { curl -sf "$B/v1/jobs/$ID" | sed -n 's/.*"status":"\([a-z]*\)".*"seconds":\([0-9.]*\).*"progress":\({[^}]*}\).*/\1 after \2 s, progress \3/p'; }
echo "index job $ID ($JOB_COMMITS commits): $(job_status)" >&2
for q in "${QUERIES[0]}" "${QUERIES[4]}"; do
  target=${q##*@@}; rest=${q%@@*}; method=${rest##*@@}; label=${rest%@@*}
  run_wrk "$label, **during the index job**" 16 "$method" "$target"
  echo "index job: $(job_status)" >&2
done
until job_status | grep -q '^\(done\|failed\)'; do sleep 2; done
echo "index job finished: $(job_status)" >&2
echo "index job finished: $(job_status)" >>"$RESULTS"
echo
cat "$RESULTS"
