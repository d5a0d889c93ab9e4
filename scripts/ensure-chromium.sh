#!/usr/bin/env bash
# Makes sure a headless Chromium is installed for the browser tests (e2e/*_browser_test.go),
# and IPAGothic for the Japanese statement PDF test (statement.DefaultFontsJA). Uses
# Debian's packages through apt-get, with sudo when not root. If they cannot be
# installed, says so and exits 0: those tests then skip with the same message rather
# than failing the build.
set -uo pipefail

packages=""
have_chromium=""
for bin in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
  if [ -n "$bin" ] && command -v "$bin" >/dev/null 2>&1; then
    have_chromium=1
    break
  fi
done
[ -n "$have_chromium" ] || packages="chromium fonts-dejavu-core"
if [ -z "${DUNWELL_PDF_FONT_JA:-}" ] && [ ! -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] &&
  [ ! -e /usr/share/fonts/truetype/fonts-japanese-gothic.ttf ]; then
  packages="$packages fonts-ipafont-gothic"
fi
[ -n "$packages" ] || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: missing $packages and no apt-get; the browser tests or the Japanese PDF test will be skipped (set CHROMIUM=/path/to/chromium, DUNWELL_PDF_FONT_JA=/path/to/font.ttf)." >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "ensure-chromium: installing$packages needs root (sudo without a password); the tests that need them will be skipped. Install them with: sudo apt-get install$packages" >&2
    exit 0
  fi
fi
echo "ensure-chromium: installing Debian's$packages for the browser and PDF tests" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # the package list is meant to split
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null; }; then
  echo "ensure-chromium: installing$packages failed; the tests that need them will be skipped." >&2
fi
exit 0
