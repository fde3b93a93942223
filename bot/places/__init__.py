"""The places of 吉林省: its administrative divisions, their codes and the names people write.

One data file (`config/places/jilin.yaml`, GB/T 2260 codes) serves every part
of the bot that reads or shows a place: the hand-over's routing, course
search, the console's region names. Loaded once; the lookups are pure.
"""

from bot.places.divisions import (
    PROVINCE_CODE,
    Division,
    PlaceHit,
    ancestors,
    contains,
    division,
    divisions,
    find_places,
    parent,
    region_name,
    short_name,
)

__all__ = [
    "PROVINCE_CODE",
    "Division",
    "PlaceHit",
    "ancestors",
    "contains",
    "division",
    "divisions",
    "find_places",
    "parent",
    "region_name",
    "short_name",
]
