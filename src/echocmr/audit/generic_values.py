"""Header values that identify no one: placeholders and plain dictionary words.

Real exports fill identifying fields with `DEFAULT`, `UNKNOWN`, `ANONYMOUS`, `NONE`,
`Radiology`, `Cardiology`, `Echo Lab`; taken as identifiers, they "leak" into every report that
uses the same ordinary word. A value is generic when it is short (at most `MAX_GENERIC_WORDS`
words) and every word is an ordinary word of a shipped vocabulary:

- the English dictionaries of the pinned `english-words` package (Webster's 2nd, GCIDE), in
  lower case; a word that Webster's lists only capitalised (a given name such as `Mary` or
  `John`) is a proper name, never ordinary;
- the words of the DICOM data dictionary's keywords (pydicom), for the technical words of a
  modern echo lab that a 1913 dictionary lacks (`Ultrasound`, `Imaging`, `Station`).

A word holding a digit (`ECHO1`, `CX50`) is never ordinary, and a phrase of more words than
`MAX_GENERIC_WORDS` is specific enough to stay an identifier (`Mercy General Hospital`). Person
names are generic only as one word (`ANONYMOUS`, or a family name such as `GREEN` searched
alone): many real names are two dictionary words (`Rose White`), so a full name always stays.
"""

from __future__ import annotations

import functools
import re

MAX_GENERIC_WORDS = 2
_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z][a-z]+")


@functools.cache
def _webster() -> frozenset[str]:
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["web2"], lower=False, alpha=True))


@functools.cache
def proper_names() -> frozenset[str]:
    """Lower-cased words that Webster's lists only capitalised (given names, places)."""
    words = _webster()
    return frozenset(w.lower() for w in words if w[:1].isupper() and w.lower() not in words)


@functools.cache
def _dicom_words() -> frozenset[str]:
    from pydicom.datadict import DicomDictionary

    return frozenset(part.lower() for entry in DicomDictionary.values()
                     for part in _CAMEL_PART.findall(entry[4]))


@functools.cache
def ordinary_words() -> frozenset[str]:
    """Every lower-case dictionary word (English and DICOM), proper names left out."""
    from english_words import get_english_words_set

    english = get_english_words_set(["web2", "gcide"], lower=False, alpha=True)
    words = {w for w in english if w.islower()} | _dicom_words()
    return frozenset(words - proper_names())


def is_generic(value, max_words: int = MAX_GENERIC_WORDS) -> bool:
    """True for a placeholder or dictionary phrase (`DEFAULT`, `Echo Lab`); False for anything
    with a digit, a proper name, an unknown word, or more than `max_words` words. Person names
    pass max_words=1: `Rose White` is two dictionary words and a real name."""
    words = _WORD.findall(str(value))
    if not words or len(words) > max_words:
        return False
    vocabulary = ordinary_words()
    return all(w.isalpha() and w.lower() in vocabulary for w in words)
