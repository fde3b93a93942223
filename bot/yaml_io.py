"""One YAML reader for every config file, on libyaml when it is installed.

The pure-Python loader spent about half a second of each start reading
`config/`; libyaml parses the same documents to the same Python values (the
constructor is shared, only the scanner and parser are in C). Without
libyaml the pure-Python loader still works, just slower.
"""

from __future__ import annotations

from typing import Any

import yaml

try:
    SafeLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # PyYAML built without libyaml
    SafeLoader = yaml.SafeLoader

HAS_LIBYAML = SafeLoader is not yaml.SafeLoader
YAMLError = yaml.YAMLError


def safe_load(text: str | bytes) -> Any:
    """Like `yaml.safe_load`, with the C loader when available."""
    return yaml.load(text, Loader=SafeLoader)
