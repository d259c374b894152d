#!/usr/bin/env bash
# Copies the dashboard's third-party browser files from their npm packages into
# router/dashboard/static/vendor/, each beside its package's LICENSE. Run it to change a version;
# the copied files are committed, so neither users nor tests need npm or the network.
# Usage: bash router/dashboard/vendor_static.sh
set -euo pipefail

# package@version  file in the package  ->  name under vendor/<package>/
FILES=(
    "preact@11.2.0 dist/preact.mjs preact.js"
    "preact@11.2.0 hooks/dist/hooks.mjs hooks.js"
    "htm@3.1.1 dist/htm.mjs htm.js"
    "chart.js@4.6.1 dist/chart.umd.min.js chart.umd.min.js"
)

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
VENDOR=router/dashboard/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for entry in "${FILES[@]}"; do
    read -r spec source target <<<"$entry"
    name=${spec%@*}
    unpacked="$WORK/$spec"
    if [[ ! -d $unpacked ]]; then
        mkdir -p "$unpacked"
        tarball=$(cd "$WORK" && npm pack --silent "$spec")
        tar xzf "$WORK/$tarball" -C "$unpacked" --strip-components=1
    fi
    mkdir -p "$VENDOR/$name"
    # Served as .js (a JavaScript MIME type everywhere) and without the source-map comment: the
    # maps are not copied, and a browser would ask for them.
    # Preact's hooks import "preact" by bare name: pointed at the copy beside them instead, so no
    # import map is needed.
    sed -e '/^\/\/# sourceMappingURL=/d' -e 's#from"preact"#from"./preact.js"#' \
        "$unpacked/$source" >"$VENDOR/$name/$target"
    cp "$unpacked"/LICENSE* "$VENDOR/$name/"
    echo "$spec $source -> $VENDOR/$name/$target"
done
