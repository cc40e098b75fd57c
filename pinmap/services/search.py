"""Office search: a pure normaliser of what people type, and a ranking of offices against it.

What people type: Thai or English names, office codes, "เขต 2" / "เขต2" / "district 2", province
names and their short forms (`data/province_aliases.csv`), the amphoe the office sits in, a DOPA
province code ("50") or a postcode ("50100", its first two digits name the province). Ranking:
the exact code, then an exact name, then offices where every word matched, best matches first.
`parse` and `rank` are pure; `search` reads the offices from the database and applies them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Amphoe, Office, OfficeProvince, Province

# The longest query accepted (the API and the exports refuse longer ones with a 400).
MAX_QUERY_CHARS: Final = 100
ALIAS_FILE: Final = Path(__file__).resolve().parents[2] / "data" / "province_aliases.csv"

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
# Zero-width characters come with text pasted from documents and would split a name in two.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Kept: Latin letters, digits, Thai consonants, vowels and tone marks. Everything else
# (punctuation, ฯ, ๆ, hyphens, dots of "สพป.") separates words.
_SEPARATOR = re.compile(r"[^0-9a-z\u0e01-\u0e2e\u0e30-\u0e3a\u0e40-\u0e45\u0e47-\u0e4e]+")
_DIGIT_EDGE = re.compile(r"(?<=\d)(?=\D)|(?<=\D)(?=\d)")
# "เขต 2", "เขตที่ 2", "เขตพื้นที่ 2", "district 2", "area 2": the area number of a province.
_AREA = re.compile(r"(?:เขตพื้นที่การศึกษา|เขตพื้นที่|เขตที่|เขต|\bdistrict|\barea|\bzone)\s*(\d{1,2})\b")
# Words that say what sort of place follows, not which: dropped from the query.
_STOP_WORDS_TYPED: Final = frozenset(
    {
        "เขต",
        "เขตที่",
        "เขตพื้นที่",
        "จังหวัด",
        "จ",
        "อำเภอ",
        "อ",
        "district",
        "area",
        "zone",
        "province",
        "changwat",
        "amphoe",
        "amphur",
        "the",
        "of",
    }
)
# Written before a name without a space: "สพปเชียงใหม่" is "สพป" + "เชียงใหม่".
_GLUED_PREFIXES: Final = ("สพป", "สพม", "อำเภอ", "จังหวัด")
_KIND_ORDER: Final = {"primary": 0, "secondary": 1}


@lru_cache(maxsize=16384)
def normalise(text: str) -> str:
    """Lower-case words separated by single spaces; Thai digits as 0-9; digits apart from letters.

    NFKC makes the two spellings of sara am (ำ and ํา) and full-width Latin equal.
    """
    text = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).casefold()
    text = _SEPARATOR.sub(" ", text.translate(_THAI_DIGITS))
    return " ".join(_DIGIT_EDGE.sub(" ", text).split())


def compact(text: str) -> str:
    return normalise(text).replace(" ", "")


# Compared with normalised text, so normalised the same way (NFKC splits sara am).
_STOP_WORDS: Final = frozenset(normalise(w) for w in _STOP_WORDS_TYPED)
_PREFIX = re.compile("^(" + "|".join(normalise(p) for p in _GLUED_PREFIXES) + ")(.+)$")


@dataclass(frozen=True)
class Query:
    """What was typed, read: words to match, an area number, bare numbers."""

    text: str  # normalised
    words: tuple[str, ...] = ()
    area: int | None = None
    numbers: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.words or self.numbers or self.area is not None)


def parse(raw: str, phrases: frozenset[str] = frozenset()) -> Query:
    """Read a query. `phrases` are compact place names: "chiang mai" is read as one word when
    "chiangmai" is one of them, so its parts are not matched one by one."""
    text = normalise(raw)
    area = None
    found = _AREA.search(text)
    if found:
        area = int(found.group(1))
        text_rest = (text[: found.start()] + " " + text[found.end() :]).split()
    else:
        text_rest = text.split()
    tokens: list[str] = []
    for token in text_rest:
        glued = _PREFIX.match(token)
        tokens.extend(glued.groups() if glued else (token,))
    tokens = [t for t in tokens if t not in _STOP_WORDS]
    words: list[str] = []
    numbers: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i].isdigit():
            numbers.append(tokens[i])
            i += 1
            continue
        # The longest run of words that spells a known place name, else the word alone.
        taken = 1
        for j in range(min(len(tokens), i + 4), i + 1, -1):
            run = tokens[i:j]
            if not any(t.isdigit() for t in run) and "".join(run) in phrases:
                taken = j - i
                break
        words.append("".join(tokens[i : i + taken]))
        i += taken
    if words and area is None:
        # Beside a name, a short bare number is the area: "เชียงใหม่ 2", "chiang mai 2".
        small = [n for n in numbers if len(n) <= 2]
        if small:
            area = int(small[0])
            numbers.remove(small[0])
    return Query(text, tuple(dict.fromkeys(words)), area, tuple(dict.fromkeys(numbers)))


@dataclass(frozen=True)
class PlaceTerms:
    """A province as the search sees it: its compact names and aliases, codes."""

    code: str
    terms: tuple[str, ...]
    postal: frozenset[str]


@dataclass
class Entry:
    """One office as the search sees it (all texts normalised)."""

    code: str
    kind: str
    cluster_no: int
    area: int | None
    names: tuple[str, ...]  # compact: name_th, name without "สพป.", full name, name_en
    name_words: frozenset[str]
    own: PlaceTerms
    covered: tuple[PlaceTerms, ...]
    amphoe: tuple[str, ...]  # compact: as stored, and without "เมือง"
    province_codes: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Hit:
    code: str
    tier: int  # 0 exact code, 1 exact name, 2 every word matched
    score: int
    matched: str  # what matched best: code, name, province, amphoe, number


_AREA_IN_NAME = re.compile(r"เขต (\d{1,2})$")


def area_of(name_th: str) -> int | None:
    found = _AREA_IN_NAME.search(normalise(name_th))
    return int(found.group(1)) if found else None


def make_entry(
    *,
    code: str,
    kind: str,
    cluster_no: int,
    name_th: str,
    name_full_th: str,
    name_en: str,
    amphoe_th: str,
    own: PlaceTerms,
    covered: tuple[PlaceTerms, ...],
    amphoe_en: str = "",
) -> Entry:
    short = re.sub(r"^(สพป|สพม) ", "", normalise(name_th))
    texts = (name_th, short, name_full_th, name_en)
    amphoe = compact(amphoe_th)
    amphoe_other = compact(amphoe_en)
    words = set()
    for t in (*texts, code):
        words.update(normalise(t).split())
    return Entry(
        code=code.casefold(),
        kind=kind,
        cluster_no=cluster_no,
        area=area_of(name_th),
        names=tuple(dict.fromkeys(compact(t) for t in texts)),
        name_words=frozenset(words),
        own=own,
        covered=covered,
        amphoe=tuple(
            a
            for a in dict.fromkeys(
                (
                    amphoe,
                    amphoe.removeprefix("เมือง"),
                    amphoe_other,
                    amphoe_other.removeprefix("mueang"),
                )
            )
            if a
        ),
        province_codes=frozenset({own.code, *(p.code for p in covered)}),
    )


def _word_score(word: str, e: Entry) -> tuple[int, str]:
    """How well one typed word fits the office (0: not at all), and what it matched."""
    code_plain = e.code.replace("-", "")
    if word in (e.code, code_plain):
        return 10, "code"
    best = (0, "")
    for place, own in ((e.own, True), *((p, False) for p in e.covered)):
        for term in place.terms:
            if word == term:
                best = max(best, (8 if own else 6, "province"))
            elif term.startswith(word):
                best = max(best, (5 if own else 4, "province"))
            elif word in term:
                best = max(best, (1, "province"))
    if word in e.amphoe:
        best = max(best, (6, "amphoe"))
    elif any(word in a for a in e.amphoe):
        best = max(best, (2, "amphoe"))
    if word in e.name_words:
        best = max(best, (5, "name"))
    elif any(w.startswith(word) for w in e.name_words):
        best = max(best, (3, "name"))
    elif word in code_plain or any(word in n for n in e.names):
        best = max(best, (1, "name"))
    return best


def _number_fits(number: str, e: Entry, alone: bool) -> bool:
    places = (e.own, *e.covered)
    if len(number) <= 2 and alone:
        # "2": the second area of every province; "50": DOPA province code 50 (Chiang Mai).
        return e.area == int(number) or number.zfill(2) in e.province_codes
    if 3 <= len(number) <= 5:
        # A postcode or its beginning: the first two digits name the province.
        return any(number[:2] in p.postal for p in places)
    return False


def score_entry(q: Query, e: Entry, raw_compact: str) -> Hit | None:
    """The office's fit to the query, or None. Pure."""
    if raw_compact and raw_compact in (e.code, e.code.replace("-", "")):
        return Hit(e.code, 0, 100, "code")
    if q.area is not None and e.area != q.area:
        return None
    alone = not q.words
    if not all(_number_fits(n, e, alone) for n in q.numbers):
        return None
    if raw_compact and raw_compact in e.names:
        return Hit(e.code, 1, 90, "name")
    total, best = 0, (0, "number")
    for word in q.words:
        points, what = _word_score(word, e)
        if not points:
            # Typed fragments that span words ("ใหม่เขต") still find the name they are part of.
            if len(raw_compact) >= 2 and any(raw_compact in n for n in e.names):
                return Hit(e.code, 2, 1, "name")
            return None
        total += points
        best = max(best, (points, what))
    return Hit(e.code, 2, total, best[1])


def rank(q: Query, raw: str, entries: list[Entry]) -> list[Hit]:
    """Offices that fit, best first; ties by kind (สพป. first), area number, then code."""
    raw_compact = compact(raw)
    by_code = {e.code: e for e in entries}
    if not raw.strip():
        hits = [Hit(e.code, 2, 0, "") for e in entries]
    elif q.empty and not raw_compact:
        hits = []  # only punctuation was typed: nothing is named
    else:
        hits = [h for e in entries if (h := score_entry(q, e, raw_compact)) is not None]

    def key(h: Hit) -> tuple[int, int, int, int, str]:
        e = by_code[h.code]
        return (h.tier, -h.score, _KIND_ORDER.get(e.kind, 2), e.area or 0, e.code)

    return sorted(hits, key=key)


# --- reading the offices and aliases ------------------------------------------------------


@lru_cache(maxsize=1)
def load_aliases(path: Path = ALIAS_FILE) -> dict[str, dict[str, tuple[str, ...]]]:
    """province code → {"names": compact aliases, "postal": postcode prefixes}."""
    names: dict[str, list[str]] = defaultdict(list)
    postal: dict[str, list[str]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["kind"] == "postal_prefix":
                postal[row["province_code"]].append(row["alias"].strip())
            else:
                names[row["province_code"]].append(compact(row["alias"]))
    codes = set(names) | set(postal)
    return {c: {"names": tuple(names[c]), "postal": tuple(postal[c])} for c in codes}


def place_terms(code: str, name_th: str, name_en: str) -> PlaceTerms:
    extra = load_aliases().get(code, {})
    terms = (compact(name_th), compact(name_en), *extra.get("names", ()))
    postal = frozenset(extra.get("postal", ())) or frozenset({code})
    return PlaceTerms(code, tuple(dict.fromkeys(t for t in terms if t)), postal)


# The entries last built in this process, with the rows they were built from: a search reads
# the rows (one small query) and builds again only when they changed, so no invalidation is
# needed and several processes or hosts stay correct.
_built: dict[str, tuple[object, list[Entry]]] = {}


def load_entries(session: Session) -> list[Entry]:
    provinces = tuple(
        session.execute(
            select(Province.code, Province.name_th, Province.name_en).order_by(Province.code)
        )
    )
    covered_rows = tuple(
        session.execute(
            select(OfficeProvince.office_id, OfficeProvince.province_code).order_by(
                OfficeProvince.office_id, OfficeProvince.position
            )
        )
    )
    rows = tuple(
        session.execute(
            select(
                Office.id,
                Office.code,
                Office.kind,
                Office.cluster_no,
                Office.name_th,
                Office.name_full_th,
                Office.name_en,
                Office.office_amphoe_th,
                Office.office_province_code,
            ).order_by(Office.code)
        )
    )
    # English amphoe names exist once an amphoe boundary file was imported (none otherwise).
    amphoes = tuple(session.execute(select(Amphoe.province_code, Amphoe.name_th, Amphoe.name_en)))
    key = (provinces, covered_rows, rows, amphoes)
    cached = _built.get("entries")
    if cached is not None and cached[0] == key:
        return cached[1]
    places = {code: place_terms(code, th, en) for code, th, en in provinces}
    amphoe_en = {(p, compact(th)): en for p, th, en in amphoes}
    covered: dict[int, list[str]] = defaultdict(list)
    for office_id, code in covered_rows:
        covered[office_id].append(code)
    entries = [
        make_entry(
            code=code,
            kind=kind,
            cluster_no=cluster_no,
            name_th=name_th,
            name_full_th=full,
            name_en=name_en,
            amphoe_th=amphoe or "",
            own=places[own],
            covered=tuple(places[c] for c in covered[oid] if c != own),
            amphoe_en=amphoe_en.get((own, compact(amphoe or "")), ""),
        )
        for oid, code, kind, cluster_no, name_th, full, name_en, amphoe, own in rows
    ]
    _built["entries"] = (key, entries)
    return entries


def phrases_of(entries: list[Entry]) -> frozenset[str]:
    """Compact place names a multi-word query may spell ("chiang mai" → "chiangmai")."""
    found: set[str] = set()
    for e in entries:
        for place in (e.own, *e.covered):
            found.update(place.terms)
        found.update(e.amphoe)
    return frozenset(found)


def search(
    session: Session,
    q: str = "",
    *,
    cluster_no: int | None = None,
    province_code: str | None = None,
    kind: str | None = None,
    codes: frozenset[str] | None = None,
) -> list[Hit]:
    """Offices fitting `q` and the filters, best first."""
    everything = load_entries(session)
    entries = [
        e
        for e in everything
        if (cluster_no is None or e.cluster_no == cluster_no)
        and (province_code is None or province_code in e.province_codes)
        and (kind is None or e.kind == kind)
        and (codes is None or e.code in codes)
    ]
    return rank(parse(q, phrases_of(everything)), q, entries)
