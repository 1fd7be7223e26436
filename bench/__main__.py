"""List the benchmarks, or run one: `python -m bench NAME [args]`."""
from __future__ import annotations

import pkgutil
import runpy
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    if len(sys.argv) < 2 or sys.argv[1] not in names:
        print("benchmarks:", ", ".join(names))
        print("run one with: python3 scripts/dev.py bench NAME [args]")
        return 0 if len(sys.argv) < 2 else 2
    name = sys.argv.pop(1)
    sys.argv[0] = f"bench/{name}.py"
    runpy.run_module(f"bench.{name}", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
