#!/usr/bin/env bash
# Refuses a Go tool module that is not open source, before anything is built
# from it. Two checks:
#   1. the tool's pinned module and version are in deploy/tool-licences.txt;
#   2. no module compiled into the tool carries a licence text that is not
#      open source (BUSL, SSPL, Elastic, Commons Clause), whatever its version:
#      HashiCorp's submodules changed licence on their own schedules.
# Usage: check-tool-licences.sh TOOL_DIR MODULE PACKAGE. Exit 1 names the module and the licence.
set -euo pipefail
dir="$1" module="$2" package="$3"
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n "s|^[[:space:]]*\(require[[:space:]]\+\)\?${module//./\\.} \(v[0-9.]*\).*|\2|p" "$dir/go.mod" | head -n 1)"
allowed="$(awk -v m="$module" -v v="$version" '$1 == m && $2 == v { print $3 }' "$here/tool-licences.txt")"
if [ -z "$allowed" ]; then
  echo "check-tool-licences: $module $version is not in deploy/tool-licences.txt; check its licence and add it there (only open-source licences)" >&2
  exit 1
fi
export PATH="$PATH:/usr/local/go/bin:/usr/lib/go/bin"
cd "$dir"
# Every module that goes into the binary, with the folder its source was downloaded to.
modules="$(GOTOOLCHAIN=local GONOSUMDB="$module" GOFLAGS=-mod=readonly \
  go list -deps -f '{{with .Module}}{{.Path}}@{{.Version}} {{.Dir}}{{end}}' "$package" | sort -u)"
bad=0
while read -r mod moddir; do
  [ -n "$mod" ] && [ -d "$moddir" ] || continue
  for licence in "$moddir"/LICENSE* "$moddir"/LICENCE* "$moddir"/COPYING*; do
    [ -f "$licence" ] || continue
    if grep -qiE 'Business Source License|Server Side Public License|Elastic License|Commons Clause' "$licence"; then
      echo "check-tool-licences: $mod is not open source ($(grep -oiE 'Business Source License|Server Side Public License|Elastic License|Commons Clause' "$licence" | head -n 1), $licence)" >&2
      bad=1
    fi
  done
done <<< "$modules"
[ "$bad" = 0 ] || exit 1
echo "check-tool-licences: $module $version ($allowed) and its $(wc -l <<< "$modules") modules: open source" >&2
