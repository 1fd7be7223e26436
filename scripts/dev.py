#!/usr/bin/env python3
"""Set up and run Pintu on a fresh machine with nothing but Python 3.11+.

    python3 scripts/dev.py demo     # the demo: SQLite + the built-in Bot API simulator + chat page
    python3 scripts/dev.py test     # the whole test suite
    python3 scripts/dev.py bench    # the benchmarks, printing their figures

It creates .venv/ beside this repository on first use and reinstalls when pyproject.toml changes.
Only the standard library is used here, because nothing else is installed yet.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".pintu-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_environment() -> None:
    """Create the virtualenv and install the project with its test extras, once per pyproject change."""
    if sys.version_info < (3, 11):
        sys.exit(f"Pintu needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing Pintu and its dependencies …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test", "bench", "pintu"):
        print(__doc__)
        return 2
    ensure_environment()
    command, rest = sys.argv[1], sys.argv[2:]
    os.chdir(ROOT)
    if command == "demo":
        args = [str(PYTHON), "-m", "bot.cli", "demo", *rest]
    elif command == "test":
        args = [str(PYTHON), "-m", "pytest", *rest]
    elif command == "bench":
        args = [str(PYTHON), "-m", "bench", *rest]
    else:
        args = [str(PYTHON), "-m", "bot.cli", *rest]
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main())
