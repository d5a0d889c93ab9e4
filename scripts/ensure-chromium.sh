#!/usr/bin/env bash
# Makes sure a headless Chromium is installed for the browser test of /reports
# (e2e/reports_browser_test.go). Uses Debian's `chromium` package through apt-get,
# with sudo when not root. If it cannot be installed, says so and exits 0: the
# browser test then skips with the same message rather than failing the build.
set -uo pipefail

for bin in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
  if [ -n "$bin" ] && command -v "$bin" >/dev/null 2>&1; then
    exit 0
  fi
done

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no Chromium and no apt-get; the /reports browser test will be skipped (set CHROMIUM=/path/to/chromium)." >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "ensure-chromium: Chromium is missing and installing it needs root (sudo without a password); the /reports browser test will be skipped. Install it with: sudo apt-get install chromium" >&2
    exit 0
  fi
fi
echo "ensure-chromium: installing Debian's chromium for the /reports browser test" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }; then
  echo "ensure-chromium: installing chromium failed; the /reports browser test will be skipped." >&2
fi
exit 0
