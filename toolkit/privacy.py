"""Privacy by construction: keyed pseudonyms, small-cell suppression that survives subtraction, scans.

Three parts, used by schemes that read person-level data (``toolkit.schemes.clientlevel``):

**Keyed hash.** Identifiers are replaced on load by ``HMAC-SHA256(secret, domain || value)``.
The secret comes from an environment variable *named* on the command line
(:meth:`Secret.from_env`); it is never a command-line literal, never stored, logged or printed
(its ``repr`` is masked). Without the secret a pseudonym cannot be linked back to a name, and
different domains ("client", "enrolment") give unrelated pseudonyms for the same text.

**Suppression.** A published table is a set of count cells and linear relations between them
(``total = part_1 + ... + part_k``: row and column totals, hierarchy levels, a count and its
parts). A cell with a count in ``[1, threshold)`` (and 0, if so configured) is *sensitive*.
Sensitive published cells are suppressed (primary suppression); cells implied but not
published (e.g. "not completed" when "ended" and "completed" are published) are unknown to a
reader but still sensitive. :func:`protect` then suppresses more cells (complementary
suppression) until no sensitive cell can be pinned down: first, no relation may have exactly
one unknown member; then an integer-programming *attacker* (:func:`attack`) computes, from the
published cells and every relation at once, the smallest and largest value each sensitive
cell can take; while one has fewer than two possible values, another cell of the nearest
relation with a published member is suppressed. Cells preferred for complementary suppression
are non-zero, parts (not totals), in as few relations with no hidden member yet as possible (so
that in a table with two margins, such as services by provider and by offering, a hidden cell
closes a cycle of hidden cells rather than starting another chain of suppressions), and small.

**Scan.** :func:`scan_outputs` reads every file of an output folder and reports forbidden text
(the secret, pseudonyms, raw identifiers) and unsuppressed small counts in published tables,
described by a manifest.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from toolkit.errors import ConfigError, InputError, ToolkitError


class PrivacyError(ToolkitError, RuntimeError):
    """An output would disclose an identifier or a small count."""


# --------------------------------------------------------------------------- keyed hash


class Secret:
    """The pseudonymisation key, held in memory only."""

    __slots__ = ("_key", "source")

    def __init__(self, key: bytes, source: str):
        self._key = key
        self.source = source

    @classmethod
    def from_env(cls, var: str, min_length: int = 16) -> Secret:
        """Read the key from environment variable ``var``.

        An error never repeats ``var`` unless the variable is set: someone who passed the secret itself
        instead of a variable's name must not see it printed (or captured in a log).
        """
        if not var or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise ConfigError("--secret-env takes the NAME of an environment variable, got an invalid name")
        value = os.environ.get(var)
        if value is None or value == "":
            raise ConfigError(
                "the environment variable named by --secret-env is not set (or is empty). --secret-env takes the "
                "NAME of an environment variable holding the pseudonymisation secret (e.g. export TOOLKIT_SECRET=... "
                "then --secret-env TOOLKIT_SECRET), never the secret itself; the value given is not repeated here "
                "in case it is the secret"
            )
        if len(value) < min_length:
            raise ConfigError(f"environment variable {var} holds a secret shorter than {min_length} characters")
        return cls(value.encode("utf-8"), f"${var}")

    def __repr__(self) -> str:
        return f"Secret(from {self.source}, hidden)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # never pickled into a model or an artifact
        raise TypeError("a Secret cannot be pickled")

    def occurs_in(self, data: bytes) -> bool:
        """Whether the secret's text appears in ``data`` (for output scans)."""
        return self._key in data

    def hash(self, domain: str, value: str) -> str:
        return hmac.new(self._key, f"{domain}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def keyed_hash(secret: Secret, domain: str, values: Iterable[object]) -> list[str | None]:
    """HMAC-SHA256 pseudonyms (64 hex characters) of ``values`` in ``domain``; None stays None."""
    return [
        None if v is None or (isinstance(v, float) and np.isnan(v)) else secret.hash(domain, str(v)) for v in values
    ]


def keyed_hash_present(secret: Secret, domain: str, values: Iterable[object]) -> list[str]:
    """:func:`keyed_hash` of values that must all be present (identifiers a contract requires); a missing one
    is an :class:`InputError` that counts them, never echoes a value."""
    keys = keyed_hash(secret, domain, values)
    missing = sum(k is None for k in keys)
    if missing:
        raise InputError(f"{missing} {domain} identifier(s) missing: every record needs one to be pseudonymised")
    return [k for k in keys if k is not None]


# --------------------------------------------------------------------------- suppression


@dataclass(frozen=True)
class Relation:
    """``total = sum(parts)`` between cells named by their ids."""

    total: Hashable
    parts: tuple[Hashable, ...]


@dataclass
class Protection:
    """The outcome of :func:`protect`, indexed like the cells."""

    sensitive: pd.Series  # count in [1, threshold) (or 0 when zeros are suppressed)
    primary: pd.Series  # sensitive and published
    suppressed: pd.Series  # published cells hidden (primary and complementary)
    attack: pd.DataFrame  # per sensitive unknown cell: lowest and highest value a reader can infer

    @property
    def complementary(self) -> pd.Series:
        return self.suppressed & ~self.primary


def _sensitive(values: np.ndarray, threshold: int, suppress_zero: bool) -> np.ndarray:
    return (values < threshold) & ((values > 0) | suppress_zero)


def protect(
    values: pd.Series,
    relations: Sequence[Relation],
    threshold: int,
    *,
    published: pd.Series | None = None,
    suppress_zero: bool = False,
    min_values: int = 2,
    max_rounds: int = 200,
) -> Protection:
    """Suppress cells so that no sensitive count can be pinned down (see the module docstring).

    Parameters
    ----------
    values : counts by cell id (non-negative integers).
    relations : additive relations between cell ids.
    threshold : counts below it (and above 0, unless ``suppress_zero``) are sensitive.
    published : which cells a reader sees when nothing is suppressed (default: all).
    min_values : a sensitive cell is protected when a reader can infer at least this many
        integer values for it.

    Examples
    --------
    A 2 x 2 table with row, column and grand totals and one small cell:

    >>> import pandas as pd
    >>> cells = pd.Series({("a", "x"): 3, ("a", "y"): 10, ("b", "x"): 12, ("b", "y"): 20,
    ...                    ("a", "*"): 13, ("b", "*"): 32, ("*", "x"): 15, ("*", "y"): 30, ("*", "*"): 45})
    >>> rel = [Relation((r, "*"), ((r, "x"), (r, "y"))) for r in "ab"] + \\
    ...       [Relation(("*", c), (("a", c), ("b", c))) for c in "xy"] + \\
    ...       [Relation(("*", "*"), (("*", "x"), ("*", "y")))]
    >>> p = protect(cells, rel, threshold=5)
    >>> sorted(p.suppressed[p.suppressed].index)
    [('a', 'x'), ('a', 'y'), ('b', 'x'), ('b', 'y')]
    >>> p.attack.loc[0, ["lower", "upper"]].tolist()
    [0.0, 13.0]
    """
    ids = list(values.index)
    table = _table(values, relations, threshold, published, suppress_zero)
    attack_rows = _suppress(table, min_values, max_rounds)
    att = pd.DataFrame(attack_rows, columns=["cell", "lower", "upper", "values"])
    att["cell"] = [ids[i] for i in att["cell"]]
    idx = values.index
    return Protection(
        sensitive=pd.Series(table.sensitive, idx),
        primary=pd.Series(table.primary, idx),
        suppressed=pd.Series(table.unknown & table.published, idx),
        attack=att,
    )


@dataclass
class _Table:
    """A table under suppression, cells by position: what :func:`protect`'s steps read and update."""

    values: np.ndarray  # counts
    published: np.ndarray  # seen by a reader when nothing is suppressed
    rels: list[tuple[int, list[int]]]  # (total, parts) of each relation
    member_of: list[list[int]]  # the relations of each cell
    sensitive: np.ndarray
    primary: np.ndarray  # sensitive and published
    is_total: np.ndarray  # the total of some relation
    unknown: np.ndarray  # hidden from a reader (suppressed or not published): grows


def _table(
    values: pd.Series, relations: Sequence[Relation], threshold: int, published: pd.Series | None, suppress_zero: bool
) -> _Table:
    """The cells of ``values`` by position, their relations, and primary suppression."""
    ids = list(values.index)
    pos = {c: i for i, c in enumerate(ids)}
    v = values.to_numpy(dtype=np.int64)
    if (v < 0).any():
        raise ValueError("counts must be non-negative")
    pub = np.ones(len(ids), bool) if published is None else published.reindex(values.index).fillna(False).to_numpy(bool)
    rels = [(pos[r.total], [pos[p] for p in r.parts]) for r in relations]
    member_of: list[list[int]] = [[] for _ in ids]
    for k, (t, parts) in enumerate(rels):
        for m in (t, *parts):
            member_of[m].append(k)
    sens = _sensitive(v, threshold, suppress_zero)
    primary = sens & pub
    is_total = np.zeros(len(ids), bool)
    is_total[[t for t, _ in rels]] = True
    return _Table(
        values=v,
        published=pub,
        rels=rels,
        member_of=member_of,
        sensitive=sens,
        primary=primary,
        is_total=is_total,
        unknown=primary | ~pub,
    )


def _suppress(table: _Table, min_values: int, max_rounds: int) -> list[dict[str, Any]]:
    """Complementary suppression: hide cells (``table.unknown``) until every sensitive unknown cell has at least
    ``min_values`` possible values for the attacker; returns the attacker's last bounds (:func:`attack`)."""
    for _ in range(max_rounds):
        _close_single_unknowns(table)
        attack_rows = attack(table.values, table.rels, table.unknown, np.flatnonzero(table.sensitive & table.unknown))
        weak = [a for a in attack_rows if a["values"] < min_values]
        if not weak:
            return attack_rows
        if not _widen(table, weak):
            raise PrivacyError("a small count cannot be protected: every related cell is already hidden")
    raise PrivacyError(f"suppression did not converge in {max_rounds} rounds")


def _cost(table: _Table, m: int) -> tuple[Any, ...]:
    """Preference of cell ``m`` for complementary suppression, lowest first: non-zero, a part rather than a
    total, in few relations with no hidden member yet, small (the module docstring says why)."""
    fresh = sum(
        1 for k in table.member_of[m] if not any(table.unknown[x] for x in (table.rels[k][0], *table.rels[k][1]))
    )
    return (table.values[m] == 0, bool(table.is_total[m]), fresh, int(table.values[m]), m)


def _nearest_known(table: _Table, cell: int) -> list[int]:
    """Known cells of the relations nearest to ``cell`` (through relations of unknown cells)."""
    rels, member_of, unknown = table.rels, table.member_of, table.unknown
    seen_rel: set[int] = set()
    frontier, seen_cell = [cell], {cell}
    while frontier:
        rel_ids = {k for c in frontier for k in member_of[c]} - seen_rel
        seen_rel |= rel_ids
        members = {m for k in rel_ids for m in (rels[k][0], *rels[k][1])}
        known = [m for m in members if not unknown[m]]
        if known:
            return known
        frontier = [m for m in members if m not in seen_cell]
        seen_cell |= set(frontier)
    return []


def _close_single_unknowns(table: _Table) -> None:
    """Hide the cheapest known cell of every relation with exactly one unknown member (sensitive or published),
    which subtraction alone would recover; repeated until no relation has one."""
    unknown = table.unknown
    changed = True
    while changed:
        changed = False
        for t, parts in table.rels:
            members = (t, *parts)
            unk = [m for m in members if unknown[m]]
            if len(unk) == 1 and (table.sensitive[unk[0]] or table.published[unk[0]]):
                known = [m for m in members if not unknown[m]]
                unknown[min(known, key=partial(_cost, table))] = True
                changed = True


def _widen(table: _Table, weak: list[dict[str, Any]]) -> bool:
    """Hide one more known cell of the relations nearest each weak cell; False when none is left to hide."""
    widened = False
    for a in weak:
        cand = _nearest_known(table, a["cell"])
        if cand:
            table.unknown[min(cand, key=partial(_cost, table))] = True
            widened = True
    return widened


def attack(
    values: np.ndarray, rels: Sequence[tuple[int, Sequence[int]]], unknown: np.ndarray, targets: Iterable[int]
) -> list[dict[str, Any]]:
    """What a reader can infer about each target cell: integer ``lower`` and ``upper`` bounds.

    The reader knows every cell not ``unknown``, every relation, and that counts are
    non-negative integers; bounds come from exact integer programs (HiGHS via
    :func:`scipy.optimize.milp`) over the unknown cells connected to the target.
    """
    unk_idx = np.flatnonzero(unknown)
    col = {int(m): j for j, m in enumerate(unk_idx)}
    rows, rhs = _unknown_equations(values, rels, unknown, col)
    root = _components(len(unk_idx), rows)
    return [_bounds(int(target), col[int(target)], root, rows, rhs) for target in targets]


def _unknown_equations(
    values: np.ndarray, rels: Sequence[tuple[int, Sequence[int]]], unknown: np.ndarray, col: dict[Any, int]
) -> tuple[list[dict[int, float]], list[float]]:
    """Each relation with an unknown member as a linear equation in the unknown cells (numbered by ``col``):
    coefficients by unknown and the right-hand side from the known cells."""
    rows, rhs = [], []
    for t, parts in rels:
        coef: dict[int, float] = {}
        b = 0.0
        for m, s in [(t, -1.0)] + [(p, 1.0) for p in parts]:
            if unknown[m]:
                coef[col[m]] = coef.get(col[m], 0.0) + s
            else:
                b -= s * values[m]
        if coef:
            rows.append(coef)
            rhs.append(b)
    return rows, rhs


def _components(n: int, rows: list[dict[int, float]]) -> list[int]:
    """A representative of each of ``n`` unknowns' connected component (unknowns sharing an equation)."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for coef in rows:
        ks = list(coef)
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
    return [find(k) for k in range(n)]


def _bounds(target: int, j: int, root: list[int], rows: list[dict[int, float]], rhs: list[float]) -> dict[str, Any]:
    """The attacker's bounds of cell ``target`` (unknown number ``j``): minimum and maximum over its component's
    integer solutions, and how many values lie between them."""
    comp = [k for k in range(len(root)) if root[k] == root[j]]
    local = {k: i for i, k in enumerate(comp)}
    eqs = [(c, b) for c, b in zip(rows, rhs, strict=True) if any(k in local for k in c)]
    a = np.zeros((len(eqs), len(comp)))
    b = np.array([x for _, x in eqs], dtype=float)
    for r, (c, _) in enumerate(eqs):
        for k, s in c.items():
            a[r, local[k]] = s
    lo, hi = (_extreme(a, b, local[j], sign) for sign in (1.0, -1.0))  # minimise, then maximise the target
    n_values = np.inf if np.isinf(hi) else int(round(hi) - round(lo)) + 1
    return {"cell": target, "lower": lo, "upper": hi, "values": n_values}


def _extreme(a: np.ndarray, b: np.ndarray, target: int, sign: float) -> float:
    """The smallest (``sign`` 1) or largest (-1) value of unknown ``target`` over non-negative integer solutions
    of ``a x = b`` (``inf``: no largest)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    c = np.zeros(a.shape[1])
    c[target] = sign
    cons = [LinearConstraint(a, b, b)] if len(b) else []
    res = milp(c, constraints=cons, integrality=np.ones(a.shape[1]), bounds=Bounds(0, np.inf))
    if res.status == 0:
        return float(res.x[target])
    if sign < 0 and res.status in (3, 4):  # the minimum exists, so "infeasible or unbounded" is unbounded
        return np.inf
    # no minimum: the relations do not hold on the true counts
    raise ValueError(f"relations are inconsistent with the counts (milp status {res.status})")


# --------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class TableRule:
    """How a published CSV is checked: its count columns and rates (rate -> numerator, denominator)."""

    counts: tuple[str, ...]
    rates: dict[str, tuple[str, str]]


def scan_outputs(
    folder: str | Path,
    tables: dict[str, TableRule],
    *,
    secret: Secret | None = None,
    forbidden_text: Sequence[str] = (),
    forbidden_tokens: Iterable[str] = (),
    threshold: int = 5,
    marker: str = "s",
    suppress_zero: bool = False,
    skip: Sequence[str] = (),
) -> list[str]:
    """Findings (empty list: clean) for every file under ``folder`` except those under ``skip``.

    ``secret`` and ``forbidden_text`` (e.g. raw identifiers) are searched in every file's bytes;
    ``forbidden_tokens`` (e.g. thousands of pseudonyms) are matched against every word of
    letters, digits, ``_`` and ``-`` in the file. ``tables`` maps a CSV's path relative to the
    folder to its :class:`TableRule`; counts must be suppressed (``marker``) or at least
    ``threshold`` (or 0), and a rate must be empty when its numerator or denominator is
    suppressed. A CSV without a rule is itself a finding.
    """
    folder = Path(folder)
    tokens = set(forbidden_tokens)
    texts = [t.encode("utf-8") for t in forbidden_text if t]
    word = re.compile(rb"[A-Za-z0-9_\-]+")
    findings: list[str] = []
    for p in sorted(x for x in folder.rglob("*") if x.is_file()):
        rel = p.relative_to(folder).as_posix()
        if any(rel == s or rel.startswith(s.rstrip("/") + "/") for s in skip):
            continue
        data = p.read_bytes()
        if secret is not None and secret.occurs_in(data):
            findings.append(f"{rel}: contains the secret")
        for i, t in enumerate(texts):
            if t in data:
                findings.append(f"{rel}: contains forbidden text #{i + 1}")
        if tokens:
            n = sum(1 for w in word.findall(data) if w.decode("ascii", "ignore") in tokens)
            if n:
                findings.append(f"{rel}: contains {n} pseudonym(s)")
        if p.suffix == ".csv":
            rule = tables.get(rel)
            if rule is None:
                findings.append(f"{rel}: a CSV with no disclosure rule in the manifest")
                continue
            findings += _check_table(
                rel, pd.read_csv(p, dtype=str, keep_default_na=False), rule, threshold, marker, suppress_zero
            )
    return findings


def _check_table(
    rel: str, df: pd.DataFrame, rule: TableRule, threshold: int, marker: str, suppress_zero: bool
) -> list[str]:
    out = []
    for c in rule.counts:
        if c not in df.columns:
            out.append(f"{rel}: count column {c} is missing")
            continue
        s = df[c]
        shown = s[(s != marker) & (s != "")]
        num = pd.to_numeric(shown, errors="coerce")
        if num.isna().any():
            out.append(f"{rel}.{c}: {int(num.isna().sum())} value(s) are neither counts nor '{marker}'")
        small = _sensitive(num.fillna(threshold).to_numpy(), threshold, suppress_zero)
        if small.any():
            out.append(f"{rel}.{c}: {int(small.sum())} unsuppressed count(s) below {threshold}")
    for r, (n, d) in rule.rates.items():
        if r in df.columns and n in df.columns and d in df.columns:
            leak = (df[r] != "") & ((df[n] == marker) | (df[d] == marker))
            if leak.any():
                out.append(f"{rel}.{r}: {int(leak.sum())} rate(s) shown with a suppressed numerator or denominator")
    return out
