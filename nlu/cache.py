"""On-disk cache for the tokeniser dictionary and the trained model.

Several bot processes may start at once against the same `BOT_DATA_DIR`, and
the directory may be read-only in a locked-down container. So:

* writes go to a unique temporary file in the target directory and are moved
  into place with `os.replace` (atomic on POSIX): a reader sees the old file
  or the new one, never half a file, and a crash leaves no corrupt cache that
  would force a rebuild on every later start;
* a failed write is logged once as a warning and the caller carries on with
  what it computed; the next start simply tries again;
* when the configured directory cannot be written at all, a per-user cache
  directory (XDG) is used instead of a shared temp path, so an unwritable
  `BOT_DATA_DIR` costs one slow start, not a slow start every time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

APP_CACHE_NAME = "trainee-bot"
# Superseded cache files (older model versions) are deleted after a week.
STALE_AFTER_S = 7 * 24 * 3600


def user_cache_dir() -> Path:
    """The per-user cache root (XDG), never a world-shared temp directory."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_CACHE_NAME / "nlu-cache"


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".probe-")
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return True


class CacheDir:
    """Where cache files are read from and written to.

    Reads look in the configured directory first (it may hold a cache baked
    into a read-only image) and then in the fallback; writes go to the first
    directory that accepts them.
    """

    def __init__(self, primary: Path, fallback: Path | None = None) -> None:
        self.primary = Path(primary)
        self.fallback = fallback if fallback is not None else user_cache_dir()
        self._probed = False
        self._write_dir: Path | None = None
        self.warnings: list[str] = []

    def find(self, name: str) -> Path | None:
        """The first existing copy of a cache file, if any."""
        for directory in (self.primary, self.fallback):
            path = directory / name
            if path.is_file():
                return path
        return None

    def write_dir(self) -> Path | None:
        """The directory writes go to, probed once; None when nothing is writable."""
        if not self._probed:
            self._probed = True
            if _writable(self.primary):
                self._write_dir = self.primary
            elif self.fallback != self.primary and _writable(self.fallback):
                self._warn(
                    f"NLU cache directory {self.primary} is not writable; caching in {self.fallback} instead"
                )
                self._write_dir = self.fallback
            else:
                self._warn(
                    f"NLU cache directory {self.primary} is not writable and neither is {self.fallback}; "
                    "start-up will rebuild the dictionary and model each time until this is fixed"
                )
        return self._write_dir

    def write_bytes(self, name: str, data: bytes) -> Path | None:
        """Atomically store `data` as `name`; None (and a warning) when impossible."""
        directory = self.write_dir()
        if directory is None:
            return None
        target = directory / name
        tmp_path: str | None = None
        try:
            fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_path, target)
            tmp_path = None
            return target
        except OSError as exc:
            self._warn(f"could not write NLU cache file {target}: {exc}")
            return None
        finally:
            if tmp_path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_path)

    def read_json(self, name: str, valid: Callable[[Any], bool]) -> Any | None:
        """A cache file's JSON when it has the expected shape; None (rebuild) when absent or damaged."""
        found = self.find(name)
        if found is None:
            return None
        try:
            loaded = json.loads(found.read_bytes())
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cache file %s: %s", found, exc)
            return None
        if not valid(loaded):
            log.warning("ignoring cache file %s: not the expected shape", found)
            return None
        return loaded

    def write_json(self, name: str, value: Any, superseded: str) -> None:
        """Store `value` as `name` and prune the files it supersedes (`superseded*`)."""
        self.write_bytes(name, json.dumps(value, ensure_ascii=False).encode())
        self.prune(superseded, keep=name)

    def prune(self, prefix: str, keep: str, older_than_s: float = STALE_AFTER_S) -> None:
        """Delete superseded cache files (`prefix*` other than `keep`) not touched for a while.

        Old files are only removed after `older_than_s`, so a process still
        running the previous version during a rolling restart keeps its cache.
        """
        directory = self.write_dir()
        if directory is None:
            return
        limit = time.time() - older_than_s
        for path in directory.glob(f"{prefix}*"):
            if path.name != keep and not path.name.startswith("."):
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < limit:
                        path.unlink()

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)
