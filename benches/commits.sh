#!/usr/bin/env bash
# Section 4 of benches/history.sh on its own, repeated: a full index of
# HEAD~N, then the next N first-parent commits indexed one `grove index --rev C`
# process each (the incremental target: total ≤ 2× the full index), then the
# same commits in one batched call. Each run uses a fresh index; the ratio is
# computed within a run (the machine is shared and noisy), and the median
# over runs is reported. Never asserts on time.
#
#   benches/commits.sh REPO [GROVE_BIN] [RUNS] [N]
#
# With GROVE_PHASES=1, also the mean of each `grove index -v` phase.
set -euo pipefail
repo=${1:?usage: benches/commits.sh REPO [GROVE_BIN] [RUNS] [N]}
grove=${2:-$(dirname "$0")/../target/release/grove}
runs=${3:-3}
n=${4:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Milliseconds now, into NOW, without forking: `$(date +%s%N)` costs a fork
# and an exec (5-10 ms at load 6) inside every interval it closes, which is
# noise on a full index but doubled the measured per-process cost.
now() { local t=${EPOCHREALTIME/[.,]/}; NOW=$((t / 1000)); }
seq="$work/seq"
git --git-dir="$repo" rev-list --first-parent -n $((n + 1)) HEAD | tac >"$seq"
# New unique content: blobs the N commits add that the first tree lacks.
git --git-dir="$repo" ls-tree -r "$(head -1 "$seq")" | awk '{print $3}' | sort -u >"$work/base-blobs"
while read -r c; do
  git --git-dir="$repo" diff-tree -r --no-commit-id "$c^1" "$c" | awk '$2 != "160000" && $4 !~ /^0+$/ {print $4}'
done < <(tail -n "$n" "$seq") | sort -u | comm -23 - "$work/base-blobs" >"$work/new-blobs"
new_kib=$(git --git-dir="$repo" cat-file --batch-check='%(objectsize)' <"$work/new-blobs" | awk '{s+=$1} END {print int(s/1024)}')
echo "## $n consecutive commits of $(basename "$repo"), one process each"
echo
echo "Machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); grove $grove."
echo
echo "New unique content of the $n commits: $(wc -l <"$work/new-blobs") blobs, $new_kib KiB."
echo
echo "| run | full index of HEAD~$n | $n processes: total | ratio | median | p90 | max | one batched call | index growth (after gc --now) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
: >"$work/ratios"
for run in $(seq 1 "$runs"); do
  idx="$work/idx$run"
  first=$(head -1 "$seq")
  now; s=$NOW; "$grove" index --repo "$repo" --index-dir "$idx" --rev "$first" >/dev/null; now; full=$((NOW - s))
  size0=$(du -sb "$idx" | cut -f1)
  : >"$work/per"
  while read -r c; do
    now; s=$NOW
    if [ "${GROVE_PHASES:-}" = 1 ]; then
      "$grove" index -v --repo "$repo" --index-dir "$idx" --rev "$c" >/dev/null 2>>"$work/phases"
    else
      "$grove" index --repo "$repo" --index-dir "$idx" --rev "$c" >/dev/null
    fi
    now; echo $((NOW - s)) >>"$work/per"
  done < <(tail -n "$n" "$seq")
  total=$(awk '{s+=$1} END {print s}' "$work/per")
  read -r med p90 max < <(sort -n "$work/per" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[int(NR*0.9)], a[NR]}')
  "$grove" gc --now --repo "$repo" --index-dir "$idx" >/dev/null
  size1=$(du -sb "$idx" | cut -f1)
  batch="$work/batch$run"
  "$grove" index --repo "$repo" --index-dir "$batch" --rev "$(head -1 "$seq")" >/dev/null
  args=(); while read -r c; do args+=(--rev "$c"); done < <(tail -n "$n" "$seq")
  now; s=$NOW; "$grove" index --repo "$repo" --index-dir "$batch" "${args[@]}" >/dev/null; now; bt=$((NOW - s))
  ratio=$(echo "scale=2; $total / $full" | bc)
  echo "$ratio" >>"$work/ratios"
  echo "| $run | $full ms | $total ms | ${ratio}× | $med ms | $p90 ms | $max ms | $bt ms ($(echo "scale=2; $bt / $full" | bc)×) | $(( (size1 - size0) / 1024 )) KiB |"
  rm -rf "$idx" "$batch"
done
echo
echo "Median ratio over $runs runs: $(sort -n "$work/ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')×"
if [ "${GROVE_PHASES:-}" = 1 ]; then
  echo
  echo "Mean per process of each \`grove index -v\` phase (all runs):"
  echo
  awk -v k=$((n * runs)) '{v=$(NF-1); $(NF-1)=""; $NF=""; sub(/^ +/, ""); sub(/ +$/, ""); s[$0]+=v} END {for (p in s) printf "- %s: %.2f ms\n", p, s[p]/k}' "$work/phases" | sort
fi
