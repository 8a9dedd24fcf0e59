"""How text becomes BM25 terms: words folded to lower case without diacritics, stemmed.

Words are split on anything but letters and digits and stemmed with Snowball (English) in
Python; the index stores the stemmed words and a query goes through the same steps. A
query keeps its uncommon words, and a hyphenated or dotted token (``E-4471-B``) as a
phrase of its parts.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

import snowballstemmer

# Longer queries are cut: every term costs a posting-list scan.
MAX_QUERY_TERMS = 32
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r"[^\W_]+(?:[-./:_][^\W_]+)*")
_STEMMER = snowballstemmer.stemmer("english")
STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before
    being between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through
    to too under until up very was we were what when where which while who whom why will
    with would you your t s d ll m re ve don doesn didn isn aren wasn weren won wouldn
    couldn shouldn hasn haven""".split()
)


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word.lower())
    return str(_STEMMER.stemWord("".join(c for c in folded if not unicodedata.combining(c))))


def indexed_form(text: str) -> str:
    """Text as FTS5 stores it: its words folded and stemmed, separated by spaces."""
    return " ".join(_stem(word) for word in _WORD.findall(text))


def query_terms(query: str) -> list[str]:
    """The query's terms in indexed form: words, or phrases for joined tokens like E-4471-B.

    Common English words are dropped unless nothing else is left.
    """
    tokens = list(dict.fromkeys(token.lower() for token in _TOKEN.findall(query)))
    kept = [token for token in tokens if token not in STOPWORDS] or tokens
    terms = [indexed_form(token) for token in kept[:MAX_QUERY_TERMS]]
    return [term for term in dict.fromkeys(terms) if term]


def match_expression(terms: Sequence[str]) -> str:
    """The FTS5 query matching any of the terms (each quoted: never read as syntax)."""
    return " OR ".join(f'"{term}"' for term in terms)
