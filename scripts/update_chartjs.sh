#!/usr/bin/env bash
# Refresh the vendored Chart.js of the HTML report: scripts/update_chartjs.sh 4.6.1
set -euo pipefail
version=${1:?usage: $0 VERSION}
dest=$(cd "$(dirname "$0")/../src/ai_orchestrator/report/vendor" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "chart.js@$version" >/dev/null && tar xzf chart.js-*.tgz)
grep -v '^//# sourceMappingURL' "$tmp/package/dist/chart.umd.min.js" > "$dest/chart.umd.min.js"
cp "$tmp/package/LICENSE.md" "$dest/LICENSE.chartjs.md"
echo "chart.js $version -> $dest (update the version in $dest/README.md)"
