#!/usr/bin/env bash
# Set up everything the toolkit needs on a fresh Debian machine with Python 3.11:
# system libraries (pango for weasyprint, a CJK font for Chinese reports), a virtual
# environment in .venv, and the package with its report extra.
#
#   bash scripts/setup.sh          what the audit and its report need
#   bash scripts/setup.sh --test   also what the tests need: the `dev` extra (pytest, pypdf,
#                                  selenium), poppler, and Debian's chromium with its
#                                  chromedriver, which the browser test of report.html drives
#                                  (selenium is told to use /usr/bin/chromedriver, so nothing
#                                  is downloaded)
#
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=demo
for arg in "$@"; do
  case "$arg" in
    --test) MODE=test ;;
    -h|--help) sed -n '2,13p' "$0" | cut -c3-; exit 0 ;;
    *) echo "setup: unknown option $arg (use --test, or nothing)" >&2; exit 2 ;;
  esac
done

SYSTEM_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
EXTRAS="report"
if [ "$MODE" = test ]; then
  SYSTEM_PACKAGES+=(poppler-utils chromium chromium-driver)
  EXTRAS="report,dev"
fi
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing system packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)" >&2
  "$PYTHON" -m venv .venv
fi
# Re-install only when pyproject.toml changed since the last successful install of these
# extras (a --test install covers the plain one too).
hash=$(sha256sum pyproject.toml | cut -c1-16)
stamp=.venv/.installed-$MODE-$hash
if [ ! -f "$stamp" ] && ! { [ "$MODE" = demo ] && [ -f ".venv/.installed-test-$hash" ]; }; then
  echo "setup: installing the package and its dependencies ($EXTRAS) into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[$EXTRAS]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
