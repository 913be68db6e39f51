#!/usr/bin/env bash
# Two glassroom binaries side by side, in one run (a refactor's "no regression" check):
#
#   benches/compare-builds.sh BEFORE AFTER [N]     (default N = 10000; needs hyperfine)
#
# e.g. build the old commit in a worktree (`git worktree add --detach /tmp/before <rev>`,
# `cargo build --release` there) and pass /tmp/before/target/release/glassroom and
# target/release/glassroom. On a generated repository of scale N (output on /dev/shm):
# full build and peak RSS, one-ticket rebuild with the build cache, the preview server's
# rebuild after one ticket changed, and `serve --repo`'s rebuild after one signed commit
# (medians of the rebuild times each server logs).
set -uo pipefail
before=${1:?usage: compare-builds.sh BEFORE AFTER [N]}
after=${2:?usage: compare-builds.sh BEFORE AFTER [N]}
n=${3:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v hyperfine >/dev/null || { echo "hyperfine not found: apt-get install -y hyperfine" >&2; exit 1; }
work=$(mktemp -d /dev/shm/glassroom-ab.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
(cd "$root" && cargo build --release -q --example genrepo)
genrepo="$root/target/release/examples/genrepo"
bin() { if [ "$1" = before ]; then echo "$before"; else echo "$after"; fi; }
now=2026-11-22

"$genrepo" "$work/repo" --scale "$n" >/dev/null
for who in before after; do cp -r "$work/repo" "$work/repo-$who"; done
build() { echo "$(bin "$1") build $work/repo-$1 --out $work/out-$1 --now $now"; }
hyperfine --style basic --warmup 1 --runs 5 \
  --prepare "rm -rf $work/out-before $work/out-after $XDG_CACHE_HOME" \
  -n "full build, before" "$(build before)" -n "full build, after" "$(build after)"
for who in before after; do
  /usr/bin/time -f "$who: full build peak RSS %M KiB" $(bin $who) build "$work/repo-$who" \
    --out "$work/rss-$who" --now $now >/dev/null 2>"$work/rss.$who"
  tail -1 "$work/rss.$who"
  $(build $who) >/dev/null 2>&1
done
edit() { echo "sed -i 's/^title: .*/title: Edited \$(date +%N)/' $work/repo-$1/tickets/\$(ls $work/repo-$1/tickets | head -1)"; }
hyperfine --style basic --warmup 1 --runs 7 --prepare "$(edit before); $(edit after)" \
  -n "one-ticket rebuild, before" "$(build before)" -n "one-ticket rebuild, after" "$(build after)"

# The median of the rebuild times a server logs ("rebuilt: ... in N ms").
median() { grep 'rebuilt:' "$1" | sed -E 's/.* in ([0-9]+) ms$/\1/' | sort -n |
  awk '{v[n++] = $1} END {if (n) print v[int(n / 2)] " ms (" n " rebuilds)"; else print "none"}'; }
wait_for() { for _ in $(seq 1 "$3"); do [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "${4:-1}" ] && return; sleep 0.05; done; }

for who in before after; do
  repo="$work/repo-$who"; ticket=$(ls "$repo/tickets" | head -1)
  $(bin $who) serve --repo "$repo" --preview --now $now --addr 127.0.0.1:0 >"$work/p.$who.out" 2>"$work/p.$who.log" &
  pid=$!; wait_for "$work/p.$who.out" http:// 1200
  for i in $(seq 1 11); do
    sed -i "s/^title: .*/title: Preview edit $i/" "$repo/tickets/$ticket"
    wait_for "$work/p.$who.log" rebuilt: 300 "$i"; sleep 0.2
  done
  kill "$pid"; echo "$who: preview rebuild after one ticket, median $(median "$work/p.$who.log")"
done

"$genrepo" "$work/git" --scale "$n" --git >/dev/null
mkdir -p "$work/keys" && cp "$root/tests/fixtures/keys/alice" "$work/keys/" && chmod 600 "$work/keys/alice"
for who in before after; do
  repo="$work/git-$who"; cp -r "$work/git" "$repo"; ticket=$(ls "$repo/tickets" | head -1)
  $(bin $who) build "$repo" --out "$work/gout-$who" --now $now >/dev/null 2>&1 # the trust cache
  $(bin $who) serve --repo "$repo" --now $now --addr 127.0.0.1:0 >"$work/r.$who.out" 2>"$work/r.$who.log" &
  pid=$!; wait_for "$work/r.$who.out" http:// 1200
  for i in $(seq 1 9); do
    sed -i "s/^title: .*/title: Signed edit $i/" "$repo/tickets/$ticket"
    git -C "$repo" add "tickets/$ticket"
    git -C "$repo" -c user.name=Alice -c user.email=alice@example.org -c gpg.format=ssh \
      -c user.signingkey="$work/keys/alice" commit -q -S -m "Edit $ticket ($i)"
    wait_for "$work/r.$who.log" rebuilt: 300 "$i"; sleep 1
  done
  kill "$pid"; echo "$who: serve --repo rebuild after one signed commit, median $(median "$work/r.$who.log")"
done
