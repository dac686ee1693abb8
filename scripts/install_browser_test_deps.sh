#!/usr/bin/env bash
# Install what the web app's browser tests (tests/test_app_browser.py) need, idempotently:
#   - Debian's Chromium at /usr/bin/chromium (apt; needs root or sudo),
#   - the pinned Playwright Python package in the project's virtual environment.
# Playwright is only the driver here: no browser is ever downloaded (no `playwright install`);
# the tests launch /usr/bin/chromium. Usage: scripts/install_browser_test_deps.sh [PYTHON]
# where PYTHON defaults to .venv/bin/python in the repository root.
set -euo pipefail

PLAYWRIGHT_PIN="playwright==1.65.2"
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-$root/.venv/bin/python}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ -x /usr/bin/chromium ]; then
  echo "chromium: present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
else
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "chromium: missing, and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
  echo "chromium: installing Debian's package"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  /usr/bin/chromium --version
fi

wanted="${PLAYWRIGHT_PIN#playwright==}"
have="$("$python" -c 'from importlib.metadata import version; print(version("playwright"))' \
  2>/dev/null || true)"
if [ "$have" = "$wanted" ]; then
  echo "playwright: $have present"
else
  echo "playwright: installing $PLAYWRIGHT_PIN (driver only, no browser download)"
  "$python" -m pip install -q "$PLAYWRIGHT_PIN"
fi
