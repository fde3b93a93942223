"""The lock files' link to pyproject.toml: `make lock` stamps them, `make install` checks.

requirements.lock pins the runtime packages (the Docker image installs it),
requirements-dev.lock those plus the dev tools (`make install`); both are
pip-compile output. Their first line records a hash of the dependency lists
in pyproject.toml, so an install after someone added a dependency without
re-locking says so (and still installs: `pip install -e .` then brings the
new package at its lower bound or newer).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = (ROOT / "requirements.lock", ROOT / "requirements-dev.lock")
PREFIX = "# pyproject-dependencies-sha256: "


def digest() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        "dependencies": project.get("dependencies", []),
        "optional": project.get("optional-dependencies", {}),
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def stamp() -> None:
    for lock in LOCKS:
        body = [line for line in lock.read_text(encoding="utf-8").splitlines() if not line.startswith(PREFIX)]
        lock.write_text("\n".join([PREFIX + digest(), *body]) + "\n", encoding="utf-8")


def check() -> int:
    stale = 0
    for lock in LOCKS:
        if not lock.exists():
            print(f"note: no {lock.name}; installing from the lower bounds in pyproject.toml (make lock)")
            stale += 1
        elif lock.read_text(encoding="utf-8").split("\n", 1)[0] != PREFIX + digest():
            print(
                f"note: pyproject.toml's dependencies changed since {lock.name} was made; installing "
                "the lock, then what pyproject.toml adds. Run `make lock` and commit the locks."
            )
            stale += 1
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(stamp() if sys.argv[1:] == ["stamp"] else check())
