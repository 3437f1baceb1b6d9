#!/bin/sh
# The browser tests need Debian's chromium and chromium-driver; the sheets' browser test renders
# the PDF's first page with pdftoppm (poppler-utils), whose Japanese glyphs need poppler-data and
# the IPA fonts. Install whatever is missing when running as root; otherwise say in one line how
# to (the tests skip, or fail under CI=true).
set -eu
need=""
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"
[ -d /usr/share/poppler/cMap ] || need="$need poppler-data"
[ -d /usr/share/fonts/opentype/ipafont-gothic ] || need="$need fonts-ipafont-gothic fonts-ipafont-mincho"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
else
    echo "browser tests need:$need (sudo apt-get install -y$need)" >&2
fi
