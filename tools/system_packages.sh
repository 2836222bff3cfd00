#!/usr/bin/env bash
# The system packages the test suite needs: PostgreSQL (the database inputs), Chromium (pages seen in a
# browser), LibreOffice Calc (the workbook printed to PDF), a CJK font (Chinese pages) and pdftoppm.
# As root on Debian: installs only what is missing (apt-get update first). Otherwise: one message
# naming what to install, exit 1. `make test` and `.ci/run` both call this script.
set -euo pipefail

need=()
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# matplotlib uses the CJK font the noto-cjk-sans-otc wheel ships; the browser and LibreOffice need one of the system
{ command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || need+=(fonts-noto-cjk)
command -v python3.11 >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing the system packages the tests need: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit 0
fi
echo "make test needs these system packages (Debian names): ${need[*]}; install them (sudo apt-get install ${need[*]}) or run make test as root, which installs them" >&2
exit 1
