#!/usr/bin/env bash
# Set up everything kzreport needs on a Debian or Ubuntu machine, then build or test.
#   scripts/bootstrap.sh build [kzreport build options]   -> output/
#   scripts/bootstrap.sh test  [pytest options]
# Idempotent: system packages are installed only when missing, the virtual
# environment is reinstalled only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: map rasterization; fonts-noto-cjk: Chinese text; fonts-noto-core: Latin text (Noto Sans/Serif); libreoffice-impress:
# tests open decks as a real client; poppler-utils: pdftoppm/pdftotext for looking at PDFs;
# libpango*: WeasyPrint's text layout.
SYSTEM_PACKAGES=(chromium fonts-noto-cjk fonts-noto-core fontconfig libreoffice-impress poppler-utils
                 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 python3-venv strace)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_system_packages() {
  command -v dpkg-query >/dev/null || { echo "bootstrap: not a Debian system; see README 'Other systems'" >&2; return 0; }
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    # python3-venv is only needed where the interpreter lacks venv (Debian's own python3).
    if [ "$p" = python3-venv ] && python3 -c 'import ensurepip' 2>/dev/null; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

install_python_env() {
  local stamp=.venv/.kzreport-installed want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  [ -x .venv/bin/python ] || python3 -m venv .venv
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
  fi
}

# The basemap's source, for the test that remakes assets/geodata from it byte for byte (the test is
# skipped where npm is missing). Pinned to the version the committed assets name.
WORLD_ATLAS=world-atlas@2.0.2
install_test_data() {
  command -v npm >/dev/null || return 0
  [ -f .venv/npm/node_modules/world-atlas/countries-50m.json ] && return 0
  npm install --silent --no-audit --no-fund --prefix .venv/npm "$WORLD_ATLAS" >/dev/null \
    || echo "bootstrap: could not install $WORLD_ATLAS from npm; the basemap check will be skipped" >&2
}

cmd=${1:-}
shift || true
case "$cmd" in
  build) install_system_packages; install_python_env; exec .venv/bin/kzreport build "$@" ;;
  test)  install_system_packages; install_python_env; install_test_data; exec .venv/bin/python -m pytest "$@" ;;
  *) echo "usage: scripts/bootstrap.sh build|test [options]" >&2; exit 2 ;;
esac
