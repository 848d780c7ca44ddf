#!/usr/bin/env bash
# The notebooks in a real browser (tests/browser_check.py): JupyterLab on 127.0.0.1, the system Chromium.
# Installed with apt when missing and possible; otherwise one line says the check was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
have_chromium() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }
if ! have_chromium && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
   && apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q chromium >/dev/null 2>&1 || true
fi
if have_chromium; then
  HF_HUB_OFFLINE=1 .venv/bin/python tests/browser_check.py --out build/browser-check
else
  echo "browser check skipped: no system Chromium, and apt could not install it (apt-get install chromium)"
fi
