"""``python -m forms check FILE…``, the same as ``pintu form check FILE…`` (bot/cli.py)."""
import sys

from forms.check import main

if __name__ == "__main__":
    if sys.argv[1:2] != ["check"]:
        print("usage: python -m forms check FILE...")
        sys.exit(2)
    sys.exit(main(sys.argv[2:]))
