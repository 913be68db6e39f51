#!/bin/sh
# Turns content-example/ into a real git repository with a signed history, so the
# example site shows verified history, its audit trail and what is pending:
#
#   tests/make-example-repo.sh /tmp/example
#   cargo run --release -- build /tmp/example
#
# Commits are signed with the published example keys in tests/fixtures/keys/ by the
# principals the example policy names. The last two commits are left for review: an
# unsigned draft and a change by someone who may only review hosts.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: tests/make-example-repo.sh OUT_DIR}

keys=$(mktemp -d)
trap 'rm -rf "$keys"' EXIT
cp "$src"/tests/fixtures/keys/* "$keys"/
chmod 600 "$keys"/*

rm -rf "$out"
mkdir -p "$out"
(cd "$src/content-example" && tar --exclude=./public --exclude=./.glassroom/cache -cf - .) | (cd "$out" && tar -xf -)
cd "$out"

export HOME="$keys" GIT_CONFIG_NOSYSTEM=1
git init -q -b main

# commit KEY|none NAME DATE MESSAGE PATH...
commit() {
  key=$1 name=$2 date=$3 message=$4
  shift 4
  export GIT_AUTHOR_NAME="$name" GIT_COMMITTER_NAME="$name"
  export GIT_AUTHOR_EMAIL="$name@example.org" GIT_COMMITTER_EMAIL="$name@example.org"
  export GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date"
  git add -A -- "$@"
  if [ "$key" = none ]; then
    git commit -q --no-gpg-sign -m "$message"
  else
    git -c gpg.format=ssh -c user.signingkey="$keys/$key" commit -q -S -m "$message"
  fi
}

commit alice alice 2026-09-01T08:00:00Z "Policy and site configuration" .glassroom glassroom.yaml README.md deploy
git config glassroom.trustRoot "$(git rev-parse HEAD)"
commit bob bob 2026-09-02T09:00:00Z "Hosts, certificates and domains" hosts certificates domains
commit bob bob 2026-09-02T10:00:00Z "Sites and services" sites services
commit alice alice 2026-09-03T08:30:00Z "Procedures" procedures
commit carol carol 2026-09-04T14:00:00Z "Modules and releases" modules releases
commit carol carol 2026-09-05T11:00:00Z "Tickets" tickets
commit carol carol 2026-09-06T16:00:00Z "Feature flags" flags
commit alice alice 2026-09-06T18:00:00Z "People and the info page" people info.md
commit alice alice 2026-09-07T09:00:00Z "News" news
# The logbook is pre-approved: robots and people append without signing.
commit none backup-bot 2026-11-21T03:00:00Z "Logbook" logbook

# Waiting for review: an unsigned draft...
cat > news/maintenance-window.md <<'NEWS'
---
title: "Draft: maintenance window on 2026-12-06"
date: 2026-11-22
author: dave
---
The shop will be read-only from 06:00 to 08:00 UTC while PostgreSQL is upgraded.
NEWS
commit none dave 2026-11-22T07:30:00Z "Draft: announce the maintenance window" news
# ...and a host change signed by dave, who may only review hosts.
sed -i 's/^owner: .*/owner: dave/' hosts/web2.yaml
commit dave dave 2026-11-22T08:00:00Z "Take over web2" hosts

echo "example repository with signed history in $out"
