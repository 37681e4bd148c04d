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
# Every run's indexes are removed only at exit: on ext4 without a journal a
# file created within 60 s (360 s) of many deletions costs more (the allocator skips
# recently freed inodes), and per-commit indexing creates a few files each.
trap 'rm -rf "$work"' EXIT
# Milliseconds now, into NOW, without forking: `$(date +%s%N)` costs a fork
# and an exec (5-10 ms at load 6) inside every interval it closes, which is
# noise on a full index but doubled the measured per-process cost.
now() { local t=${EPOCHREALTIME/[.,]/}; NOW=$((t / 1000)); }
# CPU milliseconds (user + system) of every child process waited for so far,
# into CPU (bash's `times`, second line: children's user and system time).
cpu() {
  local line
  times >"$work/times" # in this shell: a subshell would report its own children
  line=$(tail -1 "$work/times")
  CPU=$(awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60000 + a[2] * 1000 } printf "%d", s }' <<<"$line")
}
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
echo "| run | full index of HEAD~$n | $n processes: total | ratio | CPU time: processes / full | median | p90 | max | one batched call | index growth (after gc --now) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
: >"$work/rows"
: >"$work/ratios"
# A full index first, untimed, so that every run reads git's packs from the
# page cache (the first cold one would flatter the ratio).
"$grove" index --repo "$repo" --index-dir "$work/warm" --rev "$(head -1 "$seq")" >/dev/null
for run in $(seq 1 "$runs"); do
  idx="$work/idx$run"
  first=$(head -1 "$seq")
  cpu; c0=$CPU
  now; s=$NOW; "$grove" index --repo "$repo" --index-dir "$idx" --rev "$first" >/dev/null; now; full=$((NOW - s))
  cpu; full_cpu=$((CPU - c0))
  size0=$(du -sb "$idx" | cut -f1)
  cpu; c0=$CPU
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
  cpu; per_cpu=$((CPU - c0))
  total=$(awk '{s+=$1} END {print s}' "$work/per")
  read -r med p90 max < <(sort -n "$work/per" | awk '{a[NR]=$1} END {p = int(NR * 0.9); if (p < NR * 0.9) p++; print a[int((NR+1)/2)], a[p], a[NR]}')
  echo "$size0" >"$work/size0-$run"
  batch="$work/batch$run"
  "$grove" index --repo "$repo" --index-dir "$batch" --rev "$(head -1 "$seq")" >/dev/null
  args=(); while read -r c; do args+=(--rev "$c"); done < <(tail -n "$n" "$seq")
  now; s=$NOW; "$grove" index --repo "$repo" --index-dir "$batch" "${args[@]}" >/dev/null; now; bt=$((NOW - s))
  ratio=$(echo "scale=2; $total / $full" | bc)
  echo "$ratio" >>"$work/ratios"
  echo "| $run | $full ms | $total ms | ${ratio}× | $per_cpu ms / $full_cpu ms = $(echo "scale=2; $per_cpu / $full_cpu" | bc)× | $med ms | $p90 ms | $max ms | $bt ms ($(echo "scale=2; $bt / $full" | bc)×) |" >>"$work/rows"
done
# Growth is measured after every run: `gc --now` deletes files (see the
# trap above), and the indexes stay until exit for the same reason.
run=0
while read -r row; do
  run=$((run + 1))
  "$grove" gc --now --repo "$repo" --index-dir "$work/idx$run" >/dev/null
  size1=$(du -sb "$work/idx$run" | cut -f1)
  echo "$row $(( (size1 - $(cat "$work/size0-$run")) / 1024 )) KiB |"
done <"$work/rows"
echo
echo "Median ratio over $runs runs: $(sort -n "$work/ratios" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')×"
if [ "${GROVE_PHASES:-}" = 1 ]; then
  echo
  echo "Mean per process of each \`grove index -v\` phase (all runs):"
  echo
  awk -v k=$((n * runs)) '{v=$(NF-1); $(NF-1)=""; $NF=""; sub(/^ +/, ""); sub(/ +$/, ""); s[$0]+=v} END {for (p in s) printf "- %s: %.2f ms\n", p, s[p]/k}' "$work/phases" | sort
fi
