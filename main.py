"""Starts DigiKnow Desk from a source checkout: `python main.py` (GUI) or `python main.py COMMAND` (CLI)."""

import sys

from digiknow_desk.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
