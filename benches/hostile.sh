#!/usr/bin/env bash
# What an attacker with push access but no key can cost a build (issue 19, class 9), in
# one run, with the targets beside the figures.
#
#   benches/hostile.sh [N]        (default N = 10000; needs git, python3, GNU time)
#
# Work happens on tmpfs (/dev/shm). Every attack is one unsigned commit on top of a
# repository made by `cargo run --release --example genrepo -- DIR --scale N --git`
# (signed history; its policy pre-approves `logbook/**`):
#   (a) 20,000 unsigned files in one commit on top of the scale-N repository: as files
#       waiting for a signature (tickets/), and as pre-approved files with errors
#       (logbook/, left out). The extra seconds of `glassroom build`: the first build
#       after the push (which verifies the commit) and the next one, against a build of
#       the repository before the push (target: under 5 s).
#   (b) one pre-approved entry of 100 MB: the extra peak RSS of the build (target: under
#       200 MB).
#   (c) one hostile file at a time as a pre-approved entry of a small repository (scale
#       200): the extra seconds of the build it is in (target: under 1 s each), and what
#       became of it (left out, or published).
set -euo pipefail
n=${1:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /dev/shm/glassroom-hostile.XXXXXX)
trap 'rm -rf "$work"' EXIT

cd "$root"
cargo build --release -q --example genrepo
cargo build --release -q
glassroom="$root/target/release/glassroom"
genrepo="$root/target/release/examples/genrepo"

# `build REPO OUT`: builds, prints "seconds peak-RSS-KiB left-out-count".
build() {
  if ! /usr/bin/time -f "%e %M" -o "$work/time" "$glassroom" build "$1" --out "$2" --now 2026-11-22 \
      >/dev/null 2>"$work/build.err"; then
    echo "build of $1 failed:" >&2
    tail -20 "$work/build.err" >&2
    exit 1
  fi
  echo "$(tail -1 "$work/time") $(grep -c 'warning: left out' "$work/build.err" || true)"
}

# `unsigned_commit REPO MESSAGE`: commits everything, unsigned.
unsigned_commit() {
  git -C "$1" add -A
  git -C "$1" -c gc.auto=0 -c commit.gpgsign=false -c user.name=Attacker -c user.email=attacker@example.org \
    commit -q --no-verify -m "$2"
}

# `prepare NAME BASE`: a copy of BASE, built once (history verified, caches written).
prepare() {
  cp -a "$2" "$work/$1"
  build "$work/$1" "$work/out-$1" >/dev/null
}

field() { echo "$1" | awk -v i="$2" '{print $i}'; }

echo "generating the scale-$n repository (signed history)..." >&2
"$genrepo" "$work/base" --scale "$n" --git >/dev/null

# --- (a) 20,000 unsigned files in one commit ------------------------------------------
echo
echo "(a) 20,000 unsigned files in one commit on top of the scale-$n repository (target: under 5 s extra)"
echo "| files | build before the push, s | first build after, s | extra, s | next build, s | extra, s | left out |"
echo "|---|---|---|---|---|---|---|"
for kind in pending left-out; do
  prepare "a-$kind" "$work/base"
  before=$(build "$work/a-$kind" "$work/out-a-$kind")
  python3 - "$work/a-$kind" "$kind" <<'PY'
import os, sys
repo, kind = sys.argv[1:]
for i in range(20000):
    if kind == "pending":
        path = f"{repo}/tickets/junk-{i:05}.md"
        text = f"---\ntitle: junk {i}\n---\nbody {i}\n"
    else:
        path = f"{repo}/logbook/2026/11/junk-{i:05}.md"
        text = f"---\nat: [not a time {i}\n---\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
PY
  unsigned_commit "$work/a-$kind" "20,000 unsigned files"
  first=$(build "$work/a-$kind" "$work/out-a-$kind")
  next=$(build "$work/a-$kind" "$work/out-a-$kind")
  b=$(field "$before" 1); f=$(field "$first" 1); x=$(field "$next" 1)
  label=$([ "$kind" = pending ] && echo "tickets/ (waiting for a signature)" || echo "logbook/ with errors (pre-approved)")
  echo "| $label | $b | $f | $(echo "$f - $b" | bc -l | xargs printf %.2f) | $x | $(echo "$x - $b" | bc -l | xargs printf %.2f) | $(field "$first" 3) |"
  rm -rf "$work/a-$kind" "$work/out-a-$kind"
done

# --- (b) a 100 MB pre-approved entry ------------------------------------------------------
echo
echo "(b) one pre-approved entry of 100 MB (target: under 200 MB extra peak RSS)"
prepare b "$work/base"
before=$(build "$work/b" "$work/out-b")
python3 - "$work/b/logbook/2026/11/huge.md" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("---\nat: 2026-11-20T10:00:00Z\nby: attacker\n---\n")
    line = "x" * 1023 + "\n"
    for _ in range(100 * 1024):
        f.write(line)
PY
unsigned_commit "$work/b" "A 100 MB entry"
after=$(build "$work/b" "$work/out-b")
echo "| | seconds | peak RSS, MiB | left out |"
echo "|---|---|---|---|"
echo "| build before the push | $(field "$before" 1) | $(( $(field "$before" 2) / 1024 )) | |"
echo "| build with the 100 MB entry | $(field "$after" 1) | $(( $(field "$after" 2) / 1024 )) | $(field "$after" 3) |"
echo "| extra | | $(( ($(field "$after" 2) - $(field "$before" 2)) / 1024 )) | |"
rm -rf "$work/b" "$work/out-b"

# --- (c) hostile single files --------------------------------------------------------------
echo
echo "(c) one hostile file as a pre-approved entry of a scale-200 repository (target: under 1 s each)"
"$genrepo" "$work/small" --scale 200 --git >/dev/null
echo "| file | bytes | build, s | extra, s | left out |"
echo "|---|---|---|---|---|"
slowest=0
slowest_name=
for shape in quotes-80000 lists-1000-deep raw-div-100000 yaml-nested-100000 yaml-flow-100000 \
  yaml-alias-bomb yaml-many-anchors line-50MB line-1MB links-1MB footnotes-1MB \
  footnote-refs-1MB headings-1MB emphasis-1MB tasks-1MB table-3000x3000; do
  # A fresh copy each time: the logbook is append-only, and history only moves forward.
  rm -rf "$work/c" "$work/out-c" "$work/.glassroom"
  prepare c "$work/small"
  baseline=$(field "$(build "$work/c" "$work/out-c")" 1)
  python3 - "$work/c/logbook/2026/11/hostile.md" "$shape" <<'PY'
import sys
path, shape = sys.argv[1:]
front = "---\nat: 2026-11-20T10:00:00Z\nby: attacker\n---\n"
MB = 1 << 20
def fill(unit):
    return unit * ((MB - len(front) - 64) // len(unit))
bodies = {
    "quotes-80000": lambda: front + ">" * 80000 + " x\n",
    "lists-1000-deep": lambda: front + "".join("  " * i + "- x\n" for i in range(1000)),
    "raw-div-100000": lambda: front + "<div>" * 100000 + "\n",
    "yaml-nested-100000": lambda: "---\nat: 2026-11-20T10:00:00Z\nby:\n" + "- " * 100000 + "x\n---\n",
    "yaml-flow-100000": lambda: "---\nat: 2026-11-20T10:00:00Z\nby: " + "[" * 100000 + "]" * 100000 + "\n---\n",
    "yaml-alias-bomb": lambda: "---\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i-1}'] * 9)}]\n" for i in range(1, 10))
        + "at: 2026-11-20T10:00:00Z\nby: *a9\n---\n",
    "yaml-many-anchors": lambda: "---\nat: 2026-11-20T10:00:00Z\nby: [" + ", ".join(f"&a{i} x" for i in range(100000)) + "]\n---\n",
    "line-50MB": lambda: front + "x" * (50 * MB) + "\n",
    "line-1MB": lambda: front + fill("x") + "\n",
    "links-1MB": lambda: front + fill("[a](http://x/) ") + "\n",
    "footnotes-1MB": lambda: front + "".join(f"x[^{i}] " for i in range(30000)) + "\n\n" + "".join(f"[^{i}]: n\n" for i in range(30000)),
    "footnote-refs-1MB": lambda: front + fill("x[^1]") + "\n\n[^1]: note\n",
    "headings-1MB": lambda: front + fill("# a\n"),
    "emphasis-1MB": lambda: front + fill("*a* ") + "\n",
    "tasks-1MB": lambda: front + fill("- [ ] a\n"),
    "table-3000x3000": lambda: front + "|a" * 3000 + "\n" + "|-" * 3000 + "\n" + "|x\n" * 3000,
}
with open(path, "w") as f:
    f.write(bodies[shape]())
PY
  bytes=$(stat -c %s "$work/c/logbook/2026/11/hostile.md")
  unsigned_commit "$work/c" "hostile $shape"
  measured=$(build "$work/c" "$work/out-c")
  seconds=$(field "$measured" 1)
  extra=$(echo "$seconds - $baseline" | bc -l | xargs printf %.2f)
  echo "| $shape | $bytes | $seconds | $extra | $([ "$(field "$measured" 3)" -gt 0 ] && echo yes || echo no) |"
  if (( $(echo "$extra > $slowest" | bc -l) )); then slowest=$extra; slowest_name=$shape; fi
done
echo
echo "slowest hostile file: $slowest_name, $slowest s over the build without it"
echo "($(nproc) cores, $(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg))"
