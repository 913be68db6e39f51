#!/bin/sh
# History verification: glassroom against `git verify-commit`, in one run.
#
#   benches/verify-history.sh [COMMITS] [SAMPLE]
#
# Generates COMMITS (default 10000) commits signed with the example key, then times
#  - `glassroom check` verifying the whole history cold (no cache),
#  - `glassroom check` after one more commit (warm: the cache holds the rest),
#  - `git verify-commit` on SAMPLE (default 300) of the same commits, per commit,
# and prints commits/s and the ratio. Needs git and ssh-keygen.
set -eu
commits=${1:-10000}
sample=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/history"

cd "$root"
cargo build --release -q --example signed_history
cargo build --release -q
glassroom="$root/target/release/glassroom"
"$root/target/release/examples/signed_history" "$repo" --commits "$commits"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }

# Timed: `glassroom check` (verify history, load and validate the approved tree).
rm -f "$repo/.git/glassroom/trust-cache"
start=$(now)
"$glassroom" check "$repo" > /dev/null
cold=$(elapsed "$start" "$(now)")
# Untimed: prove the cold run really verified every commit and approved everything.
rm -f "$repo/.git/glassroom/trust-cache"
"$glassroom" audit --repo "$repo" --format json > "$work/cold.json"
grep -q "\"verified\": $commits" "$work/cold.json" || { echo "glassroom did not verify $commits commits" >&2; exit 1; }
grep -q '"pending": \[\]' "$work/cold.json" || { echo "unexpected pending changes" >&2; exit 1; }

"$root/target/release/examples/signed_history" "$repo" --commits 1 --append > /dev/null
start=$(now)
"$glassroom" check "$repo" > /dev/null
warm=$(elapsed "$start" "$(now)")

printf 'alice@example.org namespaces="git" %s\n' "$(cat "$root/tests/fixtures/keys/alice.pub")" > "$work/allowed_signers"
git -C "$repo" rev-list --first-parent -n "$sample" HEAD > "$work/sample"
start=$(now)
while read -r id; do
  git -C "$repo" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$work/allowed_signers" verify-commit "$id" 2>/dev/null
done < "$work/sample"
gitsample=$(elapsed "$start" "$(now)")

echo "history verification on $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "glassroom cold:        $commits commits in $(printf %.3f "$cold") s = $(printf %.0f "$(echo "$commits / $cold" | bc -l)") commits/s"
echo "glassroom warm:        1 new commit in $(printf %.1f "$(echo "$warm * 1000" | bc -l)") ms"
echo "git verify-commit:     $sample commits in $(printf %.3f "$gitsample") s = $(printf %.0f "$(echo "$sample / $gitsample" | bc -l)") commits/s"
echo "ratio (per commit):    glassroom is $(printf %.1f "$(echo "($gitsample / $sample) / ($cold / $commits)" | bc -l)")x faster than git verify-commit"
