#!/usr/bin/env bash
# Runs the whole test suite headless: sets up what the tests need, then lint, types and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's offscreen platform needs these system libraries; install any that are missing (Debian).
needed=(libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 fonts-dejavu-core)
missing=()
for package in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Please install: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

scripts/venv.sh test
export QT_QPA_PLATFORM=offscreen
# The database tests run on SQLite and on a throwaway PostgreSQL server (scripts/postgres.sh installs
# Debian's packages if missing, then starts or reuses it), unless --backend sqlite asks for SQLite alone.
case " $* " in
  *" --backend sqlite "* | *" --backend=sqlite "*) ;;
  *)
    if [ -z "${DIGIKNOW_TEST_POSTGRES:-}" ]; then DIGIKNOW_TEST_POSTGRES=$(bash scripts/postgres.sh); fi
    export DIGIKNOW_TEST_POSTGRES
    ;;
esac
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest -n auto "$@"  # one worker per core; pass -n 0 to run in this process alone
