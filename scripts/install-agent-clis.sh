#!/usr/bin/env bash
# Install the pinned real agent CLIs used by the contract tests (tests/contract).
#
# Usage: bash scripts/install-agent-clis.sh DIR
#
# Contract:
#   * Each CLI gets its own npm prefix: DIR/claude, DIR/gemini, DIR/codex, DIR/opencode; the binary is
#     DIR/<cli>/node_modules/.bin/<cli>.
#   * Versions are pinned (on Node 20 an unpinned Claude Code install silently resolves to an
#     old release). A stamp file DIR/<cli>/.installed-<version> makes a re-run instant.
#   * npm not on PATH  -> loud warning on stderr, exit 0 (the real_cli tests then skip loudly).
#   * npm present but an install fails -> exit non-zero (CI goes red instead of skipping).
set -euo pipefail

DIR="${1:-${AGENT_CLI_DIR:-}}"
if [[ -z "$DIR" ]]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi

# name|npm package|version|binary name
CLIS=(
    "claude|@anthropic-ai/claude-code|2.1.330|claude"
    "gemini|@google/gemini-cli|0.61.0|gemini"
    "codex|@openai/codex|0.169.0|codex"
    "opencode|opencode-ai|1.18.33|opencode"
    "qwen|@qwen-code/qwen-code|0.24.4|qwen"
)

if ! command -v npm >/dev/null 2>&1; then
    {
        echo "############################################################################"
        echo "# WARNING: npm is not on PATH - the real agent CLIs are NOT installed.      #"
        echo "# Every test marked real_cli will be SKIPPED. Install Node.js + npm and run  #"
        echo "# 'make agent-clis' to run the contract tests against the real CLIs.         #"
        echo "############################################################################"
    } >&2
    exit 0
fi

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

install_one() {
    local name="$1" pkg="$2" version="$3" bin="$4"
    local prefix="$DIR/$name"
    local stamp="$prefix/.installed-$version"
    local exe="$prefix/node_modules/.bin/$bin"
    if [[ -f "$stamp" && -x "$exe" ]]; then
        echo "$name $version: already installed ($exe)"
        return 0
    fi
    echo "$name $version: installing $pkg@$version into $prefix ..."
    rm -rf "$prefix"
    mkdir -p "$prefix"
    # A minimal package.json keeps npm from walking up to a parent project.
    printf '{"name":"agent-cli-%s","private":true}\n' "$name" >"$prefix/package.json"
    if ! npm install --prefix "$prefix" --no-audit --no-fund --no-save \
        --loglevel=error "$pkg@$version" >&2; then
        echo "ERROR: npm install of $pkg@$version failed" >&2
        return 1
    fi
    if [[ ! -x "$exe" ]]; then
        echo "ERROR: $pkg@$version installed but $exe is missing" >&2
        return 1
    fi
    rm -f "$prefix"/.installed-*
    touch "$stamp"
    echo "$name $version: installed ($exe)"
}

status=0
for entry in "${CLIS[@]}"; do
    IFS='|' read -r name pkg version bin <<<"$entry"
    install_one "$name" "$pkg" "$version" "$bin" || status=1
done

if [[ $status -ne 0 ]]; then
    echo "ERROR: at least one agent CLI failed to install (see above)" >&2
    exit $status
fi
echo "Agent CLI binaries (AGENT_CLI_DIR=$DIR):"
for entry in "${CLIS[@]}"; do
    IFS='|' read -r name _pkg _version bin <<<"$entry"
    echo "  $DIR/$name/node_modules/.bin/$bin"
done
