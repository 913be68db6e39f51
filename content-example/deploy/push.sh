#!/bin/sh
# Sync target `mirror` (see glassroom.yaml): copy the freshly built site to the mirror.
# glassroom runs this with GLASSROOM_SITE_DIR (the built site), GLASSROOM_COMMIT and
# GLASSROOM_PREVIOUS_COMMIT in the environment. This file is not content; glassroom ignores it.
set -eu

: "${GLASSROOM_SITE_DIR:?GLASSROOM_SITE_DIR is not set}"
MIRROR="${MIRROR:-deploy@mirror.example.org:/srv/www/ops/}"

echo "pushing ${GLASSROOM_PREVIOUS_COMMIT:-none} -> ${GLASSROOM_COMMIT:-unknown} to ${MIRROR}"
rsync -az --delete --delay-updates \
    -e "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes" \
    "${GLASSROOM_SITE_DIR%/}/" "${MIRROR}"
