#!/usr/bin/env bash
# The one test command: installs what the suite needs (quick when already installed), then runs
# the linters, the type checker and pytest, stopping at the first failure.
# Usage: bash tests/run.sh [pytest args...]
set -euo pipefail

LLAMA_CPP_PYTHON="llama-cpp-python[server]==0.3.36"
# The real CLIs driven by the end-to-end tests, pinned: their wire behaviour changes between
# releases (see ../shared/CLIENTS.md).
CLIS=("@anthropic-ai/claude-code@2.1.332" "@openai/codex@0.169.0" "@google/gemini-cli@0.61.0")

cd "$(dirname "${BASH_SOURCE[0]}")/.."
NPM_PREFIX="tests/.npm"
PIP=(.venv/bin/pip install --quiet --disable-pip-version-check)

if ! .venv/bin/python -c "" 2>/dev/null; then
    python3 -m venv --clear .venv
fi
"${PIP[@]}" -e '.[test]'

# No wheel exists for this platform: the first install builds llama.cpp (about 8 minutes on
# 2 cores) and pip's wheel cache makes later installs take seconds. LLaVA is imported lazily and
# unused; a native build must not be copied to another CPU, which the per-machine cache respects.
CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
    "${PIP[@]}" "$LLAMA_CPP_PYTHON"

# The dashboard's browser tests drive Debian's Chromium (Playwright cannot download its own here).
# Without root it is left to the developer: those tests then skip, saying so.
if [[ ! -x /usr/bin/chromium ]]; then
    if [[ $EUID -eq 0 ]]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "run.sh: no /usr/bin/chromium; install it (apt-get install chromium) for the" \
            "dashboard tests" >&2
    fi
fi

# Installed only when a pinned version is missing: a warm run costs one `npm ls`.
if ! npm ls --prefix "$NPM_PREFIX" "${CLIS[@]}" >/dev/null 2>&1; then
    npm install --prefix "$NPM_PREFIX" --no-audit --no-fund "${CLIS[@]}"
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy --strict router bench
exec .venv/bin/pytest "$@"
