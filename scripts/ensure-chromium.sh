#!/bin/sh
# The browser tests need Debian's chromium and chromium-driver. Install them when missing and
# running as root; otherwise say in one line how to (the tests skip, or fail under CI=true).
set -eu
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
else
    echo "browser tests need Chromium: sudo apt-get install -y chromium chromium-driver" >&2
fi
