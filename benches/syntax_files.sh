#!/usr/bin/env bash
# The syntax files of two grove builds side by side (e.g. before and after a
# syntax-file format change): each indexes HEAD of REPO into a fresh index
# and analyses it (`grove symbols`, timed), then the syntax files' size and
# its ratio to the indexed bytes, then warm `grove symbols` and
# `grove find --mode lexical` run alternately, ROUNDS times each, and the
# medians. The machine is shared and noisy: compare within one run.
#
#   benches/syntax_files.sh REPO OLD_GROVE NEW_GROVE [ROUNDS]
set -euo pipefail
repo=${1:?usage: benches/syntax_files.sh REPO OLD_GROVE NEW_GROVE [ROUNDS]}
old=${2:?OLD_GROVE}
new=${3:?NEW_GROVE}
rounds=${4:-9}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
us() { echo $(( $(date +%s%N) / 1000 )); }
symbols=(symbols strbuf_addf)
find=(find --mode lexical --files -k 5 'retry failed connections')
echo "Machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); repo $repo."
echo
echo "| build | first \`grove symbols\` | syntax files | × indexed bytes |"
echo "|---|---:|---:|---:|"
for b in old new; do
  g=${!b}
  out=$("$g" index --repo "$repo" --index-dir "$work/$b")
  raw=$(echo "$out" | sed -n 's/.*new blobs (\([0-9.]*\) MiB).*/\1/p')
  s=$(us); "$g" "${symbols[@]}" --repo "$repo" --index-dir "$work/$b" >/dev/null; t=$(( $(us) - s ))
  bytes=$(cat "$work/$b"/syntax/*.syx | wc -c)
  awk -v b="$b" -v t="$t" -v bytes="$bytes" -v raw="$raw" 'BEGIN {
    printf "| %s | %.2f s | %.1f MiB (%d B) | %.3f |\n", b, t / 1e6, bytes / 1048576, bytes, bytes / (raw * 1048576) }'
done
echo
for b in old new; do # warm up
  "${!b}" "${find[@]}" --repo "$repo" --index-dir "$work/$b" >/dev/null
done
echo "| build | query | median | min |"
echo "|---|---|---:|---:|"
for i in $(seq 1 "$rounds"); do
  for b in old new; do
    g=${!b}
    s=$(us); "$g" "${symbols[@]}" --repo "$repo" --index-dir "$work/$b" >/dev/null; echo "$b symbols $(( $(us) - s ))"
    s=$(us); "$g" "${find[@]}" --repo "$repo" --index-dir "$work/$b" >/dev/null; echo "$b find $(( $(us) - s ))"
  done
done | sort -k1,2 -k3n | awk '
  { k = $1 " " $2; v[k, ++n[k]] = $3 }
  END { for (k in n) { split(k, p, " ")
    printf "| %s | %s | %.1f ms | %.1f ms |\n", p[1], p[2], v[k, int((n[k] + 1) / 2)] / 1000, v[k, 1] / 1000 } }' | sort
