"""Per-case outcomes of one run in compact columns (issue 17): what the paired gate and comparison read.

A dict of case key -> list of outcomes costs ~1.2 KB per case in Python objects (out of memory at 512 MB around
350k results). Here a run's results are kept in `array` columns grouped by case, the cases sorted by key (the
order the gate walks them in, so its figures are the same to the last bit): about 30 bytes per result plus the
key's bytes, built in one pass over a stream of (case key, status, score) and a sort of the keys.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate, compress, islice
from operator import ne

_PASSED = frozenset({"p", "passed"})
_MAGIC = b"EGCC1"  # evalgate case columns, format 1


class CaseColumns:
    """A run's results grouped by case key (cases sorted by key, a case's results in arrival order)."""

    __slots__ = ("_key_offsets", "_keys", "_starts", "passed", "scores", "single")

    def __init__(self, keys: bytes, key_offsets: array, starts: array, passed: array, scores: array) -> None:
        self._keys = keys
        self._key_offsets = key_offsets  # case i's key is _keys[_key_offsets[i]:_key_offsets[i + 1]] (UTF-8)
        self._starts = starts  # case i's results are passed/scores[_starts[i]:_starts[i + 1]]
        self.passed = passed  # 1 when the result passed
        self.scores = scores
        self.single = len(passed) == len(key_offsets) - 1  # one result per case: case i is result i

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, float]]) -> CaseColumns:
        """From (case key, p/f/e or passed/failed/errored, score) rows, in any order."""
        keys: list[str] = []
        passed = array("b")
        scores = array("d")
        add_key, add_passed, add_score = keys.append, passed.append, scores.append
        for key, status, score in rows:
            add_key(key)
            add_passed(status in _PASSED)
            add_score(float(score))
        n = len(keys)
        order = sorted(range(n), key=keys.__getitem__)  # stable: repeats keep their arrival order
        sorted_passed = array("b", map(passed.__getitem__, order))
        sorted_scores = array("d", map(scores.__getitem__, order))
        ordered = list(map(keys.__getitem__, order))
        del keys, order, passed, scores
        # where each case starts: the first result and every one whose key differs from the one before (in C)
        firsts = [0, *compress(range(1, n), map(ne, islice(ordered, 1, None), ordered))] if n else []
        distinct = ordered if len(firsts) == n else [ordered[i] for i in firsts]
        del ordered
        text = "".join(distinct)
        if text.isascii():  # one byte per character: the offsets are the keys' lengths
            blob = text.encode()
            lengths: Iterable[int] = map(len, distinct)
        else:
            encoded = [key.encode() for key in distinct]
            blob = b"".join(encoded)
            lengths = map(len, encoded)
        key_offsets = array("q", [0])
        key_offsets.extend(accumulate(lengths))
        starts = array("q", firsts)
        starts.append(n)
        return cls(blob, key_offsets, starts, sorted_passed, sorted_scores)

    def __len__(self) -> int:
        return len(self._key_offsets) - 1

    def where(self, keep: Callable[[str], bool]) -> CaseColumns:
        """The same columns with only the cases whose key `keep` accepts (the order stays sorted)."""
        blob = bytearray()
        key_offsets = array("q", [0])
        starts = array("q", [0])
        passed = array("b")
        scores = array("d")
        for i in range(len(self)):
            key = self.key(i)
            if not keep(key.decode()):
                continue
            blob += key
            key_offsets.append(len(blob))
            start, end = self._starts[i], self._starts[i + 1]
            passed.extend(self.passed[start:end])
            scores.extend(self.scores[start:end])
            starts.append(len(passed))
        return CaseColumns(bytes(blob), key_offsets, starts, passed, scores)

    def to_bytes(self) -> bytes:
        """The columns as one blob (`from_bytes` reads it back): a header (magic, byte order, the five columns'
        lengths in bytes), then the columns' bytes. ~35 bytes a result: what a recomputed gate loads instead of
        decoding and regrouping every outcome of the run."""
        parts = [self._keys, self._key_offsets.tobytes(), self._starts.tobytes()]
        parts += [self.passed.tobytes(), self.scores.tobytes()]
        header = _MAGIC + (b"L" if sys.byteorder == "little" else b"B")
        return header + array("q", [len(p) for p in parts]).tobytes() + b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> CaseColumns | None:
        """The columns `to_bytes` wrote, or None for a blob this process cannot read (another format or byte
        order, or cut short)."""
        header = _MAGIC + (b"L" if sys.byteorder == "little" else b"B")
        lengths = array("q")
        at = len(header) + 5 * lengths.itemsize
        if len(data) < at or data[: len(header)] != header:
            return None
        lengths.frombytes(data[len(header) : at])
        if any(n < 0 for n in lengths) or at + sum(lengths) != len(data):
            return None
        columns: list[bytes] = []
        for n in lengths:
            columns.append(data[at : at + n])
            at += n
        key_offsets, starts, passed, scores = array("q"), array("q"), array("b"), array("d")
        try:
            key_offsets.frombytes(columns[1])
            starts.frombytes(columns[2])
            passed.frombytes(columns[3])
            scores.frombytes(columns[4])
        except ValueError:  # a length that is not a whole number of items
            return None
        if len(key_offsets) != len(starts) or len(passed) != len(scores) or (starts and starts[-1] != len(passed)):
            return None
        return cls(columns[0], key_offsets, starts, passed, scores)

    @property
    def results(self) -> int:
        return len(self.passed)

    def key(self, i: int) -> bytes:
        return self._keys[self._key_offsets[i] : self._key_offsets[i + 1]]

    def count(self, i: int) -> int:
        return self._starts[i + 1] - self._starts[i]

    def passes(self, i: int) -> int:
        return sum(self.passed[self._starts[i] : self._starts[i + 1]])

    def passes_first(self, i: int, n: int) -> int:
        start = self._starts[i]
        return sum(self.passed[start : min(start + n, self._starts[i + 1])])

    def pairs(
        self, other: CaseColumns, k_of_n: tuple[int, int] | None
    ) -> tuple[tuple[array, array], tuple[array, array]]:
        """Over the cases both runs share, in key order: (values here, values there), (mean scores here, there)."""
        plain = k_of_n is None or (k_of_n[0] == 1 and k_of_n[1] >= 1)  # a single result's value is its pass/fail
        if self.same_cases(other):  # the usual case (two runs of one dataset): no merge of the keys
            if self.single and other.single and plain:
                return (array("d", self.passed), array("d", other.passed)), (self.scores, other.scores)
            n = len(self)
            return (
                array("d", [self.value(i, k_of_n) for i in range(n)]),
                array("d", [other.value(i, k_of_n) for i in range(n)]),
            ), (array("d", [self.score(i) for i in range(n)]), array("d", [other.score(i) for i in range(n)]))
        shared = list(self.shared(other))
        if self.single and other.single and plain:
            p, q, s, t = self.passed, other.passed, self.scores, other.scores
            return (
                (array("d", [float(p[i]) for i, _ in shared]), array("d", [float(q[j]) for _, j in shared])),
                (array("d", [s[i] for i, _ in shared]), array("d", [t[j] for _, j in shared])),
            )
        here = array("d", [self.value(i, k_of_n) for i, _ in shared])
        there = array("d", [other.value(j, k_of_n) for _, j in shared])
        return (here, there), (
            array("d", [self.score(i) for i, _ in shared]),
            array("d", [other.score(j) for _, j in shared]),
        )

    def same_cases(self, other: CaseColumns) -> bool:
        """Both runs have exactly the same case keys (a comparison of the key bytes, no per-case work)."""
        return self._key_offsets == other._key_offsets and self._keys == other._keys

    def value(self, i: int, k_of_n: tuple[int, int] | None) -> float:
        """1/0 under k-of-n, else the fraction of the case's results that passed."""
        if k_of_n is not None:
            return 1.0 if self.passes_first(i, k_of_n[1]) >= k_of_n[0] else 0.0
        n = self.count(i)
        return self.passes(i) / n if n else 0.0

    def score(self, i: int) -> float:
        """The mean score of the case's results."""
        start, end = self._starts[i], self._starts[i + 1]
        return sum(self.scores[start:end]) / (end - start)

    def shared(self, other: CaseColumns) -> Iterator[tuple[int, int]]:
        """(case index here, case index there) of every case key both runs have, in key order."""
        i, j = 0, 0
        n, m = len(self), len(other)
        if not n or not m:
            return
        a, b = self.key(0), other.key(0)
        while True:
            if a == b:
                yield i, j
                i, j = i + 1, j + 1
                if i >= n or j >= m:
                    return
                a, b = self.key(i), other.key(j)
            elif a < b:
                i += 1
                if i >= n:
                    return
                a = self.key(i)
            else:
                j += 1
                if j >= m:
                    return
                b = other.key(j)

    def as_dicts(self) -> tuple[dict[str, list[bool]], dict[str, float]]:
        """The outcomes and mean scores by case key as plain dicts (small runs, tests)."""
        outcomes: dict[str, list[bool]] = {}
        means: dict[str, float] = {}
        for i in range(len(self)):
            key = self.key(i).decode()
            start, end = self._starts[i], self._starts[i + 1]
            outcomes[key] = [bool(p) for p in self.passed[start:end]]
            means[key] = self.score(i)
        return outcomes, means
