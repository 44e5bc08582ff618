#!/usr/bin/env bash
# Starts DigiKnow Desk on the embedded SQLite database (a file in your user data folder),
# setting up the virtual environment first if needed. Extra arguments go to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
exec .venv/bin/digiknow-desk "$@"
