#!/usr/bin/env bash
# Headless Chromium + ChromeDriver for the UI tests (tests/ui), from Debian's packages, when missing.
# Needs root and apt; elsewhere it says what to install and the browser tests skip with that reason.
set -uo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "[setup] installing chromium and chromium-driver (Debian packages) for the UI tests"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
    || echo "[setup] could not install chromium: the browser tests will be skipped" >&2
else
  echo "[setup] chromium/chromedriver missing: install them (Debian: apt-get install chromium chromium-driver);" \
       "the browser tests will be skipped" >&2
fi
exit 0
