#!/bin/sh
# Make sure the browser tests have Debian's Chromium: install it when missing and allowed (root + apt-get).
# Not root and missing: a failure under CI=true, otherwise the browser tests will skip.
set -eu
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver for the browser tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "error: chromium is missing and cannot be installed (not root); browser tests cannot run" >&2
    exit 1
fi
echo "note: chromium is missing (install: apt-get install chromium chromium-driver); browser tests will skip" >&2
