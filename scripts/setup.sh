#!/usr/bin/env bash
# One-shot set-up of a fresh machine: virtual environment, torch (CPU build, pinned first so pip never
# pulls the CUDA wheels), the core and every folder under plugins/ as editable installs, and sshd for
# the remote training service's tests. Re-running is cheap: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${NASCORE_VENV:-.venv}
PY="$VENV/bin/python"

if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ]; then
    echo "setup: installing openssh-server (used by the remote training service tests)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null
fi

if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium (the dashboard's browser tests drive it headless through Playwright)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

[ -x "$PY" ] || python3 -m venv "$VENV"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    echo "setup: installing torch==2.13.0 (CPU)"
    "$PY" -m pip install -q --disable-pip-version-check torch==2.13.0
fi

# Reinstall only when a pyproject changed (or a plugin folder appeared).
stamp="$VENV/.nascore-installed"
digest=$(cat pyproject.toml plugins/*/pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    args=(-e ".[test]")
    for plugin in plugins/*/; do
        [ -f "$plugin/pyproject.toml" ] || continue
        # a plugin's test extras (e.g. the dashboard's pinned playwright) and bench extras (what its benchmark
        # compares against, e.g. nascore-ray's ray[tune]) come with it
        extras=$(grep -oE '^(test|bench) = ' "$plugin/pyproject.toml" | cut -d' ' -f1 | paste -sd, - || true)
        if [ -n "$extras" ]; then args+=(-e "${plugin%/}[$extras]"); else args+=(-e "$plugin"); fi
    done
    echo "setup: installing nascore and ${#args[@]} editable distributions"
    "$PY" -m pip install -q --disable-pip-version-check "${args[@]}"
    echo "$digest" > "$stamp"
fi
