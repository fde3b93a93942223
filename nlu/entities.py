"""All entity extractors together, most specific first.

A character belongs to at most one entity: an ID-card number is not also a
phone number and a pile of numbers, and "3月5号" is a date, not 3 and 5. So
extractors run in order (ID card, phone, date/time, number) and each sees the
spans the earlier ones claimed. Groups are words, not digits, and are found
independently.

Values follow the contract: `date` → "YYYY-MM-DD", `number` → int/float
(a percentage as its fraction), `id_card` → 18 characters with upper-case X,
`phone` → 11 digits, `group` → a contract group id. `time` ("HH:MM") is an
extra type for reminder times.
"""

from __future__ import annotations

from datetime import date

from nlu.config import GroupFile, Lexicon
from nlu.dates import DateFinder
from nlu.groups import GroupFinder
from nlu.ids import IdCandidate, IdCardCheck, find_id_cards, find_phones
from nlu.numbers import NumberFinder
from nlu.text import for_matching
from nlu.types import Entity


class EntityExtractor:
    def __init__(self, lexicon: Lexicon, groups: GroupFile) -> None:
        self._dates = DateFinder(lexicon.not_day_after_hao)
        self._numbers = NumberFinder(lexicon)
        self._groups = GroupFinder(groups)

    def extract(self, text: str, today: date) -> tuple[Entity, ...]:
        return self.analyse(text, today)[0]

    def analyse(self, text: str, today: date) -> tuple[tuple[Entity, ...], bool]:
        """Entities, and whether an ID-card-like number was seen (valid or not).

        The flag feeds the intent model: a mistyped ID card still means the
        user is trying to bind their identity.
        """
        norm = for_matching(text)  # same length as text: offsets are valid in both
        entities: list[Entity] = []
        taken: list[tuple[int, int]] = []

        def add(type_: str, value: object, start: int, end: int) -> None:
            entities.append(Entity(type_, value, text[start:end], start, end))
            taken.append((start, end))

        candidates = find_id_cards(norm)
        for cand in candidates:
            # Invalid candidates are still claimed, so a mistyped ID card
            # does not come back as a phone number or a huge number.
            taken.append((cand.start, cand.end))
            if cand.check is IdCardCheck.VALID:
                entities.append(
                    Entity("id_card", cand.number, text[cand.start : cand.end], cand.start, cand.end)
                )
        for phone in find_phones(norm):
            if _free(phone.start, phone.end, taken):
                add("phone", phone.number, phone.start, phone.end)
        for found in self._dates.find(norm, today):
            if _free(found.start, found.end, taken):
                add(found.kind, found.value, found.start, found.end)
        for num in self._numbers.find(norm, taken):
            add("number", num.value, num.start, num.end)
        for grp in self._groups.find(norm):
            entities.append(Entity("group", grp.group, text[grp.start : grp.end], grp.start, grp.end))
        entities.sort(key=lambda e: (e.start, e.end))
        return tuple(entities), bool(candidates)

    def groups(self, text: str) -> list[str]:
        """Affirmed group ids, first mention first, without repeats."""
        seen: list[str] = []
        for grp in self._groups.find(for_matching(text)):
            if grp.group not in seen:
                seen.append(grp.group)
        return seen

    @staticmethod
    def id_card_candidates(text: str) -> list[IdCandidate]:
        return find_id_cards(for_matching(text))


def _free(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return all(end <= a or start >= b for a, b in taken)
