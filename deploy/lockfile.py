"""The lock file's link to pyproject.toml: `make lock` stamps it, `make install` checks it.

requirements.lock pins every package (pip-compile output). Its first line
records a hash of the dependency lists in pyproject.toml, so an install after
someone added a dependency without re-locking says so (and still installs:
`pip install -e .` then brings the new package at its lower bound or newer).
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PREFIX = "# pyproject-dependencies-sha256: "


def digest() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        "dependencies": project.get("dependencies", []),
        "optional": project.get("optional-dependencies", {}),
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def stamp() -> None:
    body = [line for line in LOCK.read_text(encoding="utf-8").splitlines() if not line.startswith(PREFIX)]
    LOCK.write_text("\n".join([PREFIX + digest(), *body]) + "\n", encoding="utf-8")


def check() -> int:
    if not LOCK.exists():
        print("note: no requirements.lock; installing from the lower bounds in pyproject.toml (make lock)")
        return 1
    first = LOCK.read_text(encoding="utf-8").split("\n", 1)[0]
    if first != PREFIX + digest():
        print(
            "note: pyproject.toml's dependencies changed since requirements.lock was made; "
            "installing the lock, then what pyproject.toml adds. Run `make lock` and commit it."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(stamp() if sys.argv[1:] == ["stamp"] else check())
