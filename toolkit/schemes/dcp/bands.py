"""Value bands: intervals with explicit open/closed ends, exact cover checks, classification.

A band is an interval of the real line, ``[lower, upper]``, ``(lower, upper]``, ... with
``lower``/``upper`` possibly infinite. A value type's domain is either an interval (``range``)
or a finite set of points (yes/no as ``{0, 1}``). Arithmetic is exact: finite bounds are
:class:`fractions.Fraction` built from the decimal text of the config value, and values are
compared as fractions too, so that 57/60 is exactly on the 95 % boundary.

:func:`cover_problems` checks that a set of bands covers a domain exactly once. It cuts the
domain at every band end into elementary pieces (the end points themselves and the open
intervals between them); every piece must lie in exactly one band. A piece in no band is a gap,
a piece in two is an overlap. Because every band end is a cut, a band either contains a whole
open piece or none of it, so the check is exact, not sampled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import SupportsFloat

Number = Fraction | float  # float only for +-inf
#: Formats a bound or value for messages and band texts (:func:`percent`, :func:`yes_no`, ...).
Formatter = Callable[[Number], str]


def exact(x: SupportsFloat | str) -> Number:
    """A bound or value as an exact fraction (floats through their shortest decimal text); infinities stay float."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool):
        return Fraction(int(x))
    if isinstance(x, int):
        return Fraction(x)
    xf = float(x)
    if math.isinf(xf):
        return xf
    if math.isnan(xf):
        raise ValueError("NaN is not a bound")
    return Fraction(repr(xf)) if isinstance(x, float) else Fraction(str(x))


@dataclass(frozen=True)
class Interval:
    """An interval with explicit ends; ``label`` names it in messages (e.g. "level 2")."""

    lower: Number
    lower_inclusive: bool
    upper: Number
    upper_inclusive: bool
    label: str = ""

    @classmethod
    def of(
        cls,
        lower: SupportsFloat | str,
        lower_inclusive: bool,
        upper: SupportsFloat | str,
        upper_inclusive: bool,
        label: str = "",
    ) -> Interval:
        lo, up = exact(lower), exact(upper)
        # an infinite end is never included
        return cls(lo, bool(lower_inclusive) and not _isinf(lo), up, bool(upper_inclusive) and not _isinf(up), label)

    def is_empty(self) -> bool:
        if self.lower < self.upper:
            return False
        if self.lower == self.upper:
            return not (self.lower_inclusive and self.upper_inclusive)
        return True

    def contains(self, x: Number) -> bool:
        above = x > self.lower or (x == self.lower and self.lower_inclusive)
        below = x < self.upper or (x == self.upper and self.upper_inclusive)
        return above and below

    def contains_open(self, a: Number, b: Number) -> bool:
        """Whether the open interval (a, b) lies inside this interval (a < b)."""
        return self.lower <= a and self.upper >= b

    def text(self, fmt: Formatter | None = None) -> str:
        f = fmt or _plain
        return (
            ("[" if self.lower_inclusive else "(")
            + f(self.lower)
            + ", "
            + f(self.upper)
            + ("]" if self.upper_inclusive else ")")
        )


def _isinf(x: Number) -> bool:
    return isinstance(x, float) and math.isinf(x)


def _plain(x: Number) -> str:
    if _isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{float(x):g}"


def percent(x: Number) -> str:
    """Format a share as a percentage (``0.95`` -> ``95%``)."""
    if _isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{float(x) * 100:g}%"


def yes_no(x: Number) -> str:
    answers: dict[Number, str] = {0: "no", 1: "yes"}
    return answers.get(x, _plain(x)) if not _isinf(x) else _plain(x)


def _pieces(domain: Interval, cuts: Iterable[Number]) -> list[tuple[str, Number, Number]]:
    """Elementary pieces of ``domain``: ("point", x, x) and ("open", a, b), in order."""
    pts = sorted({c for c in cuts if domain.lower <= c <= domain.upper} | {domain.lower, domain.upper})
    out: list[tuple[str, Number, Number]] = []
    for i, p in enumerate(pts):
        if not _isinf(p) and domain.contains(p):
            out.append(("point", p, p))
        if i + 1 < len(pts):
            out.append(("open", p, pts[i + 1]))
    return out


def _covers(band: Interval, piece: tuple[str, Number, Number]) -> bool:
    kind, a, b = piece
    return band.contains(a) if kind == "point" else band.contains_open(a, b)


def _describe(pieces: Sequence[tuple[str, Number, Number]], fmt: Formatter | None) -> str:
    """One interval text for a run of adjacent pieces."""
    first, last = pieces[0], pieces[-1]
    lo_incl = first[0] == "point"
    up_incl = last[0] == "point"
    return Interval(first[1], lo_incl, last[2], up_incl).text(fmt)


def cover_problems(
    bands: Sequence[Interval],
    domain: Interval | None = None,
    points: Sequence[Number] | None = None,
    fmt: Formatter | None = None,
) -> list[str]:
    """Everything that keeps ``bands`` from covering the domain exactly once (empty list: exact cover).

    Give either ``domain`` (an interval) or ``points`` (a finite domain such as yes/no).
    Problems are: an empty band, a band reaching outside the domain, a gap, an overlap.
    """
    fmt = fmt or _plain
    problems: list[str] = []
    live = []
    for b in bands:
        if b.is_empty():
            problems.append(f"{b.label} band {b.text(fmt)} is empty")
            continue
        live.append(b)
        if domain is not None:
            below = b.lower < domain.lower or (
                b.lower == domain.lower and b.lower_inclusive and not domain.lower_inclusive
            )
            above = b.upper > domain.upper or (
                b.upper == domain.upper and b.upper_inclusive and not domain.upper_inclusive
            )
            if below or above:
                problems.append(f"{b.label} band {b.text(fmt)} reaches outside the value range {domain.text(fmt)}")
        elif points is not None and not any(b.contains(exact(p)) for p in points):
            problems.append(
                f"{b.label} band {b.text(fmt)} contains none of the values {', '.join(fmt(exact(p)) for p in points)}"
            )
    if points is not None:
        pieces = [("point", exact(p), exact(p)) for p in points]
    else:
        assert domain is not None
        cuts = [x for b in live for x in (b.lower, b.upper)]
        pieces = _pieces(domain, cuts)
    runs: list[tuple[tuple[str, ...], list]] = []  # consecutive pieces with the same bands
    for piece in pieces:
        hits = tuple(b.label for b in live if _covers(b, piece))
        if runs and runs[-1][0] == hits and points is None:
            runs[-1][1].append(piece)
        else:
            runs.append((hits, [piece]))
    for hits, ps in runs:
        where = _describe(ps, fmt) if points is None else ", ".join(fmt(p[1]) for p in ps)
        if ps[0][0] == "point" and len(ps) == 1:
            where = fmt(ps[0][1])
        single = points is not None or (len(ps) == 1 and ps[0][0] == "point")
        if not hits:
            problems.append(f"value {where} falls in no level" if single else f"values in {where} fall in no level")
        elif len(hits) > 1:
            problems.append(f"{' and '.join(hits)} overlap on {where}")
    return problems


def classify(value: Number, bands: Sequence[Interval]) -> int | None:
    """Index of the band holding ``value`` (the first, in a validated catalogue the only), or None."""
    for i, b in enumerate(bands):
        if b.contains(value):
            return i
    return None
