#!/usr/bin/env bash
# Whole-process benchmarks of grove's multi-revision features (forks, the
# diff applier, many tags) on a real repository, next to the anchors run in
# the same session. Prints Markdown. Never asserts on time.
#
#   benches/history.sh REPO [TAG_GLOB] [GROVE_BIN]
#
# REPO: a git repository with long history (e.g. a bare clone of git/git).
# Needs: git, GNU time (/usr/bin/time), cindex (Debian `codesearch`), hyperfine.
set -euo pipefail
repo=${1:?usage: benches/history.sh REPO [TAG_GLOB] [GROVE_BIN]}
glob=${2:-v*}
grove=${3:-$(dirname "$0")/../target/release/grove}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tool in git /usr/bin/time cindex hyperfine; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install git time codesearch hyperfine)" >&2; exit 2; }
done
timed() { # label, command... → "label seconds KB"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >"$work/out" 2>"$work/err"
  echo "$label $(cat "$work/t")"
}
ntags=$(git --git-dir="$repo" tag -l "$glob" | wc -l)
echo "## Many revisions: $ntags tags matching '$glob' of $(basename "$repo")"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# 1. Index every tag.
idx="$work/tags"
read -r _ secs kb < <(timed index "$grove" index --repo "$repo" --index-dir "$idx" --tags "$glob")
summary=$(cat "$work/out")
disk=$(du -sb "$idx" | cut -f1)
unique=$(echo "$summary" | sed -E 's/.*new blobs \(([^)]*)\).*/\1/')
echo "| step | result |"
echo "|---|---|"
echo "| \`grove index --tags '$glob'\` | ${secs} s, peak RSS $((kb / 1024)) MiB, index $((disk / 1048576)) MiB on disk |"
echo "| summary line | $summary |"

# 2. cindex per tag, on a sample, extrapolated.
sample=$(git --git-dir="$repo" tag -l "$glob" | awk -v n="$ntags" 'NR % int(n/5+1) == 1 && ++k <= 5')
ctime=0; csize=0; k=0
for t in $sample; do
  rm -rf "$work/co"; mkdir -p "$work/co"
  git --git-dir="$repo" archive "$t" | tar -x -C "$work/co"
  rm -f "$work/csidx"
  read -r _ s _ < <(CSEARCHINDEX="$work/csidx" timed cindex cindex "$work/co")
  ctime=$(echo "$ctime + $s" | bc); csize=$((csize + $(stat -c %s "$work/csidx"))); k=$((k + 1))
done
echo "| cindex, one index per tag (mean of $k sampled tags × $ntags) | $(echo "scale=1; $ctime / $k * $ntags" | bc) s (checkout time not counted), $((csize / k * ntags / 1048576)) MiB on disk |"

# 3. Count one pattern across every tag, grove vs git grep.
pat=strbuf_addf
read -r _ gs gkb < <(timed grove-count "$grove" search -c "$pat" --repo "$repo" --index-dir "$idx" --tags "$glob")
cp "$work/out" "$work/grove.count"
read -r _ ggs _ < <(timed git-grep git --git-dir="$repo" grep -c "$pat" $(git --git-dir="$repo" tag -l "$glob"))
same=$(cmp -s "$work/out" "$work/grove.count" && echo "identical output" || echo "OUTPUT DIFFERS")
echo "| \`grove search -c $pat --tags '$glob'\` | ${gs} s, peak RSS $((gkb / 1024)) MiB |"
echo "| \`git grep -c $pat \$(git tag -l '$glob')\` | ${ggs} s — grove is $(echo "scale=1; $ggs / $gs" | bc)× faster, $same |"

# 4. 100 consecutive first-parent commits, one process each, then one batch.
seq="$work/seq"; git --git-dir="$repo" rev-list --first-parent -n 101 HEAD | tac >"$seq"
one="$work/one"
read -r _ full _ < <(timed full "$grove" index --repo "$repo" --index-dir "$one" --rev "$(head -1 "$seq")")
size0=$(du -sb "$one" | cut -f1)
: >"$work/per"
tail -n 100 "$seq" | while read -r c; do
  s=$(date +%s%N); "$grove" index --repo "$repo" --index-dir "$one" --rev "$c" >>"$work/lines"; e=$(date +%s%N)
  echo $(((e - s) / 1000000)) >>"$work/per"
done
total=$(awk '{s+=$1} END {print s/1000}' "$work/per")
median=$(sort -n "$work/per" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
"$grove" gc --now --repo "$repo" --index-dir "$one" >/dev/null
size1=$(du -sb "$one" | cut -f1)
newb=$(sed -E 's/.*new blobs \(([0-9.]+) ([KMG]?i?B)\).*/\1 \2/' "$work/lines" | awk '{m=1; if($2=="KiB")m=1024; if($2=="MiB")m=1048576; if($2=="GiB")m=1073741824; s+=$1*m} END {printf "%d", s}')
batch="$work/batch"
"$grove" index --repo "$repo" --index-dir "$batch" --rev "$(head -1 "$seq")" >/dev/null
args=(); while read -r c; do args+=(--rev "$c"); done < <(tail -n 100 "$seq")
read -r _ bsecs _ < <(timed batch "$grove" index --repo "$repo" --index-dir "$batch" "${args[@]}")
echo "| full index of HEAD~100 | ${full} s |"
echo "| next 100 commits, one \`grove index --rev C\` process each | total ${total} s, median ${median} ms per commit |"
echo "| the same 100 commits in one \`grove index\` call | ${bsecs} s |"
echo "| index growth over the 100 commits (after \`gc --now\`) | $(((size1 - size0) / 1024)) KiB for $((newb / 1024)) KiB of new raw content |"

# 5. Fork: the same on a 1-file repository and on the many-tag index.
tiny="$work/tiny"; git init -q "$tiny"; echo hi >"$tiny/f"; git -C "$tiny" add f
git -C "$tiny" -c user.name=b -c user.email=b@b commit -qm one
"$grove" index --repo "$tiny" >/dev/null
first=$(git --git-dir="$repo" tag -l "$glob" | awk 'NR==1')
hyperfine -N -w 3 -r 20 --export-markdown "$work/fork.md" \
  "$grove fork HEAD f1 --repo $tiny" \
  "$grove fork $first f1 --repo $repo --index-dir $idx" >/dev/null 2>&1
echo
echo "\`grove fork\` (process time; hyperfine, 20 runs):"
echo
cat "$work/fork.md"
