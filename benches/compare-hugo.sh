#!/usr/bin/env bash
# Whole-build benchmarks, glassroom beside Hugo, in one run, printed as a table with ratios.
#
#   benches/compare-hugo.sh [N]        (default N = 10000; needs: apt-get install -y hugo hyperfine)
#
# Measures, with output on tmpfs (/dev/shm) so the disk does not dominate:
#   - Hugo building the peer kit's corpus of N one-kilobyte Markdown pages
#     (benches/peer-kit, a copy of the shared kit, or $BENCH_KIT), pages/s and peak RSS;
#   - glassroom building a generated ops repository of scale N
#     (`cargo run --release --example genrepo`), pages/s and peak RSS;
#   - glassroom rebuilding after one ticket changed (with its build cache);
#   - the preview server (`glassroom serve --preview`) rebuilding after one ticket changed;
#   - a signed history of the same repository: its full build, and `glassroom serve --repo`
#     rebuilding after one signed commit changed one ticket;
#   - `glassroom check` alone;
#   - history verification (benches/verify-history.sh, 10,000 signed commits);
#   - flag evaluation (the criterion benchmark `flags`, quick mode).
set -euo pipefail
n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${BENCH_KIT:-$root/benches/peer-kit}
work=$(mktemp -d /dev/shm/glassroom-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The build caches of a directory that is not a git repository live in the user's cache
# directory (those of a repository in its git directory): here, inside $work.
export XDG_CACHE_HOME="$work/cache-home"
for tool in hugo hyperfine; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y hugo hyperfine" >&2; exit 1; }
done

cd "$root"
cargo build --release -q --example genrepo
cargo build --release -q
glassroom="$root/target/release/glassroom"

# --- Hugo on the peer corpus (N pages) -------------------------------------------
corpus="$work/hugo-$n"
bash "$kit/ssg-corpus.sh" -f hugo "$corpus" "$n" >/dev/null
hugo_cmd="hugo --quiet --source $corpus --destination $work/hugo-public"
hyperfine --style none --warmup 1 --runs 5 --prepare "rm -rf $work/hugo-public" \
  --export-json "$work/hugo.json" "$hugo_cmd" >/dev/null
hugo_time=$(python3 -c "import json;print(json.load(open('$work/hugo.json'))['results'][0]['mean'])")
hugo_pages=$(find "$work/hugo-public" -name index.html | wc -l)
/usr/bin/time -f %M -o "$work/hugo.rss" $hugo_cmd >/dev/null
hugo_rss=$(tail -1 "$work/hugo.rss")

# --- glassroom on a generated repository of scale N ------------------------------
repo="$work/ops-$n"
target/release/examples/genrepo "$repo" --scale "$n" >/dev/null
out="$work/ops-public"
build="$glassroom build $repo --out $out --now 2026-11-22"
hyperfine --style none --warmup 1 --runs 5 --prepare "rm -rf $out $XDG_CACHE_HOME" \
  --export-json "$work/glassroom.json" "$build" >/dev/null 2>&1
gr_time=$(python3 -c "import json;print(json.load(open('$work/glassroom.json'))['results'][0]['mean'])")
gr_pages=$(find "$out" -name '*.html' | wc -l)
rm -rf "$out" "$XDG_CACHE_HOME"
/usr/bin/time -f %M -o "$work/glassroom.rss" $build >/dev/null 2>&1
gr_rss=$(tail -1 "$work/glassroom.rss")

# --- one-ticket rebuild --------------------------------------------------------------
ticket=$(cd "$repo/tickets" && set -- *.md && echo "$1")
$build >/dev/null 2>&1
hyperfine --style none --warmup 1 --runs 5 \
  --prepare "sed -i 's/^title: .*/title: Edited \$(date +%N)/' $repo/tickets/$ticket" \
  --export-json "$work/rebuild.json" "$build" >/dev/null 2>&1
rebuild=$(python3 -c "import json;print(json.load(open('$work/rebuild.json'))['results'][0]['mean'])")

# --- preview rebuild after one ticket changed ------------------------------------
# The server keeps its last build in memory; each rebuild logs "... in N ms".
"$glassroom" serve --repo "$repo" --preview --now 2026-11-22 --addr 127.0.0.1:0 \
  >"$work/serve.out" 2>"$work/serve.log" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do grep -q "http://" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
for i in $(seq 1 11); do
  sed -i "s/^title: .*/title: Preview edit $i/" "$repo/tickets/$ticket"
  for _ in $(seq 1 300); do
    [ "$(grep -c 'rebuilt:' "$work/serve.log")" -ge "$i" ] && break
    sleep 0.05
  done
  sleep 0.2 # one edit, one rebuild: the watcher must not merge two edits
done
kill "$serve_pid" 2>/dev/null || true
# The median of the rebuilds: a shared machine's pauses move the mean, not the median.
preview=$(grep 'rebuilt:' "$work/serve.log" | sed -E 's/.* in ([0-9]+) ms$/\1/' | sort -n |
  awk '{v[n++] = $1} END {if (n) printf "%.3f", v[int(n / 2)] / 1000; else print "nan"}')

# --- a served repository after one signed commit changed one ticket -----------------
# `serve --repo` serves the approved tree of a signed history; each new commit is
# verified and built in memory. Compared with a full `glassroom build` of the same
# repository (which also verifies history and writes an audit page per file).
git_repo="$work/git-$n"
target/release/examples/genrepo "$git_repo" --scale "$n" --git >/dev/null
mkdir -p "$work/keys" && cp "$root/tests/fixtures/keys/alice" "$work/keys/" && chmod 600 "$work/keys/alice"
git_out="$work/git-public"
git_build="$glassroom build $git_repo --out $git_out --now 2026-11-22"
$git_build >/dev/null 2>&1 # the history's trust cache, as a served repository has it
hyperfine --style none --warmup 1 --runs 3 --prepare "rm -rf $git_out $git_repo/.git/glassroom/build" \
  --export-json "$work/git-build.json" "$git_build" >/dev/null 2>&1
git_full=$(python3 -c "import json;print(json.load(open('$work/git-build.json'))['results'][0]['mean'])")
git_files=$(find "$git_out" -type f | wc -l)
rm -rf "$git_out" "$git_repo/.git/glassroom/build"
"$glassroom" serve --repo "$git_repo" --now 2026-11-22 --addr 127.0.0.1:0 \
  >"$work/rserve.out" 2>"$work/rserve.log" &
rserve_pid=$!
trap 'kill "$serve_pid" "$rserve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do grep -q "http://" "$work/rserve.out" 2>/dev/null && break; sleep 0.1; done
git_ticket=$(cd "$git_repo/tickets" && set -- *.md && echo "$1")
for i in $(seq 1 7); do
  sed -i "s/^title: .*/title: Signed edit $i/" "$git_repo/tickets/$git_ticket"
  git -C "$git_repo" add "tickets/$git_ticket"
  git -C "$git_repo" -c user.name=Alice -c user.email=alice@example.org -c gpg.format=ssh \
    -c user.signingkey="$work/keys/alice" commit -q -S -m "Edit $git_ticket ($i)"
  for _ in $(seq 1 300); do
    [ "$(grep -c 'rebuilt:' "$work/rserve.log")" -ge "$i" ] && break
    sleep 0.05
  done
  sleep 2 # commits come minutes apart; let the large files' background compression end
done
kill "$rserve_pid" 2>/dev/null || true
served=$(grep 'rebuilt:' "$work/rserve.log" | sed -E 's/.* in ([0-9]+) ms$/\1/' | sort -n |
  awk '{v[n++] = $1} END {if (n) printf "%.3f", v[int(n / 2)] / 1000; else print "nan"}')

# --- check alone ---------------------------------------------------------------------
hyperfine --style none --warmup 1 --runs 10 --export-json "$work/check.json" "$glassroom check $repo" >/dev/null 2>&1
check=$(python3 -c "import json;print(json.load(open('$work/check.json'))['results'][0]['mean'])")

# --- history verification and flag evaluation ---------------------------------------
history=$(bash "$root/benches/verify-history.sh" 10000 300 2>/dev/null | grep -E "cold|warm|ratio" || true)
flags=$(cargo bench -q --bench flags -- --quick 'evaluate' 2>/dev/null | grep -E "^evaluate|time:" | paste -sd' ' | sed 's/evaluate\//\n&/g' | sed '/^ *$/d' || true)

python3 - "$n" "$hugo_time" "$hugo_pages" "$hugo_rss" "$gr_time" "$gr_pages" "$gr_rss" "$rebuild" "$check" "$preview" "$git_full" "$git_files" "$served" <<'PY'
import sys
n, ht, hp, hr, gt, gp, gr, rb, ck, pv, gf, gn, sv = sys.argv[1:]
ht, hp, hr, gt, gp, gr, rb, ck, pv = float(ht), int(hp), int(hr), float(gt), int(gp), int(gr), float(rb), float(ck), float(pv)
gf, gn, sv = float(gf), int(gn), float(sv)
hps, gps = hp / ht, gp / gt
print(f"| measure (N = {n}) | Hugo | glassroom | ratio |")
print("|---|---|---|---|")
print(f"| full build, pages | {hp} | {gp} | |")
print(f"| full build, seconds | {ht:.3f} | {gt:.3f} | |")
print(f"| full build, pages/s | {hps:,.0f} | {gps:,.0f} | {gps / hps:.2f}x |")
print(f"| peak RSS, MiB | {hr / 1024:.0f} | {gr / 1024:.0f} | {gr / hr:.2f} |")
print(f"| rebuild after one ticket changed, s | | {rb:.3f} | {100 * rb / gt:.1f} % of the full build |")
print(f"| preview server rebuild after one ticket changed, s | | {pv:.3f} | {100 * pv / gt:.1f} % of the full build |")
print(f"| check alone, s | | {ck:.3f} | |")
print(f"| signed history: full build ({gn} files, with audit pages), s | | {gf:.3f} | |")
print(f"| signed history: `serve --repo` rebuild after one signed commit, s | | {sv:.3f} | {100 * sv / gf:.1f} % of its full build |")
PY
echo
echo "history verification:"; echo "$history" | sed 's/^/  /'
echo "flag evaluation (criterion, quick):"; echo "$flags" | sed 's/^/  /'
echo
echo "memory and time by repository size (full build, output on tmpfs):"
for scale in ${SCALES:-1000 10000 50000}; do
  target/release/examples/genrepo "$work/scale-$scale" --scale "$scale" >/dev/null
  rm -rf "$work/scale-out" "$XDG_CACHE_HOME"
  /usr/bin/time -f "%e %M" -o "$work/scale.time" "$glassroom" build "$work/scale-$scale" --out "$work/scale-out" --now 2026-11-22 >/dev/null 2>&1
  measured=$(tail -1 "$work/scale.time")
  pages=$(find "$work/scale-out" -name '*.html' | wc -l)
  echo "  N=$scale: $pages pages, $(echo "$measured" | awk '{printf "%.2f s, %.0f MiB peak RSS", $1, $2/1024}')"
  rm -rf "$work/scale-$scale" "$work/scale-out"
done
echo "($(nproc) cores, $(date -u +%Y-%m-%d), hugo $(hugo version | awk '{print $2}'))"
