#!/usr/bin/env bash
# Load test of `grove serve --http` on loopback with wrk (not run in CI).
#
#   benches/http_load.sh [REPO_SOURCE [NAME]]
#
# Builds the release binary, clones REPO_SOURCE (default: the flask mirror)
# into $OUT, indexes HEAD into a fresh index, starts `grove serve`, and runs
# wrk against a few searches and a symbol lookup at several concurrency
# levels, then once more while an index job (every tag) runs. Writes a
# markdown table to $OUT/results-NAME.md and prints it.
#
# Needs wrk (Debian: apt-get install -y wrk). Knobs (environment):
# DURATION (10s), CONCURRENCY ("1 4 16 64"), THREADS (2), PORT (7879),
# OUT (/tmp/grove-http-load), TAGS (glob the index job indexes, "*"),
# GROVE (a grove binary to use instead of building one).
set -euo pipefail

SRC=${1:-/work/.mirror/pallets+flask/repo}
NAME=${2:-flask}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-"1 4 16 64"}
THREADS=${THREADS:-2}
PORT=${PORT:-7879}
OUT=${OUT:-/tmp/grove-http-load}
TAGS=${TAGS:-*}
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

# label @@ method @@ path (GET) or JSON body (POST)
QUERIES=(
  "search literal \`url_for\`@@GET@@/v1/repos/$NAME/search?pattern=url_for&max_results=100"
  "search regex \`def \\w+json\`@@GET@@/v1/repos/$NAME/search?pattern=def%20%5Cw%2Bjson&max_results=100"
  "search -i \`session\` (many matches, cut at 100)@@GET@@/v1/repos/$NAME/search?pattern=session&ignore_case=true&max_results=100"
  "search POST \`TODO\\|FIXME\` + 1 line context@@POST@@{\"pattern\": \"TODO|FIXME\", \"context\": 1, \"max_results\": 100}"
  "symbols \`Blueprint\`@@GET@@/v1/repos/$NAME/symbols?query=Blueprint&limit=20"
)

RESULTS=$OUT/results-$NAME.md
{
  echo "| query | concurrency | requests/s | p50 | p90 | p99 | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$RESULTS"

# run_wrk LABEL CONCURRENCY METHOD TARGET
run_wrk() {
  local label=$1 c=$2 method=$3 target=$4 out
  if [ "$method" = POST ]; then
    out=$(BODY=$target wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency -s "$LUA" "$B/v1/repos/$NAME/search")
  else
    out=$(wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency "$B$target")
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

# While an index job runs: every tag, into the same index.
JOB=$(curl -sf -H 'Content-Type: application/json' -d "{\"tags\": \"$TAGS\"}" "$B/v1/repos/$NAME/index")
ID=$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' <<<"$JOB")
sleep 1
echo "index job $ID: $(curl -sf "$B/v1/jobs/$ID" | head -c 300)" >&2
target=${QUERIES[0]##*@@}
run_wrk "search literal, **during an index job**" 16 GET "$target"
STATE=$(curl -sf "$B/v1/jobs/$ID")
echo "index job after the run: $(head -c 400 <<<"$STATE")" >&2
until grep -q '"status":"\(done\|failed\)"' <<<"$STATE"; do sleep 2; STATE=$(curl -sf "$B/v1/jobs/$ID"); done
echo "index job finished: $(head -c 600 <<<"$STATE")" >&2
run_wrk "search literal, after the job (same index, more revisions)" 16 GET "$target"

echo
cat "$RESULTS"
