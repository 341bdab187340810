"""Is the best candidate really better, or is it noise? A verdict from each candidate's
scores (its seeds with ``repeats``; its folds x seeds with the sklearn engine); pure.

Method: for every candidate with two scores or more, :data:`DRAWS` plausible true means are
drawn from what its scores say about it: their mean plus their standard error times Student's t
with n - 1 degrees of freedom (n scores; the distribution of a normal mean's estimate whose
spread is itself estimated), from a fixed seed, so the same scores always give the same
verdict. In each draw the candidate with the best mean wins (a tie shares the win): a
candidate's ``P(best)`` is its share of the wins. The leader is the candidate with the best
mean; a runner-up is *within noise* of it when it beats the leader in at least :data:`NOISE`
of the draws (a one-sided test at 5%; the same as the 90% interval of their difference
containing 0). A bootstrap of the scores themselves was not used: two or three seeds resample to
a handful of sets and understate the noise, calling a winner that Welch's t-test would
not; the t draws widen with fewer seeds instead (two seeds give heavy tails: P(best) stays
modest unless the gap is many times the spread). Scores that are all equal draw their mean
exactly (no spread: a deterministic order).

A score that is NaN or infinite (a failed fit) is left out and counted; a candidate with
fewer than two scores gets no verdict (it takes no part in the draws).

Example:
    >>> v = verdict([Scores("a", (0.71, 0.72, 0.70)), Scores("b", (0.60, 0.61, 0.62))],
    ...             "maximize")
    >>> [round(s.p_best, 2) for s in v.standings]
    [1.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Draws of each candidate's mean.
DRAWS = 10_000
#: The draws' seed: the same scores give the same verdict.
SEED = 0
#: A runner-up that beats the leader in at least this share of draws is within noise.
NOISE = 0.05
#: Candidates a verdict shows (``P(best)`` is computed among all of them).
TOP = 5
#: How to get a verdict when every candidate has one score (the Optuna engine's repeats).
HINT = "for one, train each with several seeds: repeats=3 in the sweep, or --repeats 3"


@dataclass(frozen=True)
class Scores:
    """One candidate's scores, e.g. its seeds' values of the objective.

    Example:
        >>> Scores("dropout_rate=0.1", (0.61, 0.63, 0.60)).label
        'dropout_rate=0.1'
    """

    label: str
    values: Sequence[float]


@dataclass(frozen=True)
class Standing:
    """One candidate in a verdict.

    Attributes:
        label: the candidate.
        scores: its finite scores.
        dropped: scores left out (NaN or infinite).
        mean, std: of its scores (std with ``ddof=1``; None below two scores; mean NaN with
            none).
        p_best: the share of draws it wins; None below two scores.
        p_better: a runner-up's share of draws in which it beats the leader (ties count
            half); None for the leader or below two scores.
        interval: the 90% interval of how far the leader is ahead of it (in the objective's
            units, positive: the leader better); None where ``p_better`` is.
    """

    label: str
    scores: tuple[float, ...]
    dropped: int
    mean: float
    std: float | None
    p_best: float | None = None
    p_better: float | None = None
    interval: tuple[float, float] | None = None

    @property
    def within_noise(self) -> bool | None:
        """A runner-up within noise of the leader (None: not compared)."""
        return None if self.p_better is None else self.p_better >= NOISE


@dataclass(frozen=True)
class Verdict:
    """The top candidates, best mean first, and how sure their order is.

    Attributes:
        direction: ``maximize`` or ``minimize``.
        standings: the top :data:`TOP` candidates, best mean first (no finite score: last).
        compared: candidates with two scores or more (those drawn).
        draws: draws of each mean (0 when none).
        hint: how to get a verdict when none is possible.
        scope: which candidates, on what, when not every candidate on the objective (e.g.
            ``the Pareto front's 3 members, on val_accuracy``); empty: every candidate.
    """

    direction: str
    standings: tuple[Standing, ...]
    compared: int
    draws: int
    hint: str = HINT
    scope: str = ""

    @property
    def title(self) -> str:
        """``verdict``, with its scope when it has one: ``verdict (among ...)``."""
        return f"verdict (among {self.scope})" if self.scope else "verdict"

    @property
    def possible(self) -> bool:
        """Two candidates or more have two scores or more."""
        return self.compared >= 2

    def reason(self) -> str:
        """Why no verdict is possible (empty when one is)."""
        if self.possible:
            return ""
        if not self.standings:
            return "no candidate has a score yet"
        if self.compared == 0:
            return f"each candidate has one score; {self.hint}"
        return "only one candidate has two scores or more; compare it with another"

    def lines(self, metric: str) -> list[str]:
        """What the user reads: a headline, one line per top candidate, the method.

        Example:
            >>> verdict([Scores("a", (1.0,))], "maximize").lines("val_accuracy")[0][:52]
            'verdict: none possible, each candidate has one score'
        """
        if not self.possible:
            return [f"{self.title}: none possible, {self.reason()}"]
        return ([f"{self.title}: {self.headline()}", f"  P(best)  {metric} (scores)"]
                + [f"  {_standing_text(standing)}" for standing in self.standings]
                + [f"  ({self.method()})"])

    def method(self) -> str:
        """How the verdict was reached, in one line."""
        return (f"{self.draws} draws of each candidate's mean from its scores (mean ± "
                f"standard error x Student's t); within noise: beats the leader in "
                f"≥{NOISE:.0%} of draws")

    def headline(self) -> str:
        """One sentence: a clear winner, or the leader and who is within noise of it."""
        leader = _leader(self.standings)
        if leader is None:
            return "none possible"
        close = [s.label for s in self.standings if s.within_noise]
        if not close:
            return f"{leader.label} is clearly the best (P(best) {leader.p_best:.2f})"
        return (f"{leader.label} leads (P(best) {leader.p_best:.2f}), within noise of "
                + "; ".join(close))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (NaN as None)."""
        return {
            "possible": self.possible, "reason": self.reason() or None,
            "method": "draws of each candidate's mean: mean + standard error x Student's t",
            "draws": self.draws,
            "seed": SEED, "noise_threshold": NOISE, "direction": self.direction,
            "scope": self.scope or None,
            "candidates": [{
                "label": s.label, "scores": list(s.scores), "dropped": s.dropped,
                "mean": _plain(s.mean), "std": s.std, "p_best": s.p_best,
                "p_better_than_leader": s.p_better,
                "leader_ahead_by_90pct": list(s.interval) if s.interval else None,
                "within_noise": s.within_noise} for s in self.standings],
        }


def _plain(value: float) -> float | None:
    """A float for JSON: NaN as None."""
    return None if math.isnan(value) else value


def _leader(standings: Sequence[Standing]) -> Standing | None:
    """The best-ranked candidate that was drawn."""
    return next((s for s in standings if s.p_best is not None), None)


def against_leader(standing: Standing) -> str:
    """How a candidate stands against the leader, in words.

    Example:
        >>> print(against_leader(Standing("b", (0.5, 0.6), 0, 0.55, 0.07, 0.3, 0.3,
        ...                                (-0.1, 0.2))))  # doctest: +NORMALIZE_WHITESPACE
        within noise: beats the leader in 30% of draws;
        the leader ahead by -0.1000 to +0.2000 (90%)
    """
    if standing.p_best is None:
        return "no verdict: fewer than two scores"
    if standing.p_better is None or standing.interval is None:
        return "the leader"
    low, high = standing.interval
    word = "within noise" if standing.within_noise else "behind"
    return (f"{word}: beats the leader in {standing.p_better:.0%} of draws; "
            f"the leader ahead by {low:+.4f} to {high:+.4f} (90%)")


def score_text(standing: Standing) -> str:
    """``0.7100 ± 0.0100 (3)``: mean ± std (scores, and NaN left out)."""
    spread = f" ± {standing.std:.4f}" if standing.std is not None else ""
    dropped = f", {standing.dropped} NaN left out" if standing.dropped else ""
    return f"{standing.mean:.4f}{spread} ({len(standing.scores)}{dropped})"


def _standing_text(standing: Standing) -> str:
    """``   0.98  0.7100 ± 0.0100 (3)  label  within noise: ...``."""
    chance = f"{standing.p_best:.2f}" if standing.p_best is not None else "–"
    text = f"{chance:>7}  {score_text(standing)}  {standing.label}"
    comparison = against_leader(standing)
    return text if comparison == "the leader" else f"{text}  {comparison}"


def _drawn_means(scores: Sequence[np.ndarray], draws: int, seed: int) -> np.ndarray:
    """One row per candidate: ``draws`` draws of its true mean (mean + standard error x
    Student's t with n - 1 degrees of freedom)."""
    rng = np.random.default_rng(seed)
    rows = np.empty((len(scores), draws))
    for row, values in enumerate(scores):
        error = values.std(ddof=1) / math.sqrt(len(values))
        rows[row] = values.mean() + error * rng.standard_t(len(values) - 1, draws)
    return rows


def verdict(candidates: Sequence[Scores], direction: str, top: int = TOP,
            draws: int = DRAWS, seed: int = SEED, hint: str = HINT,
            scope: str = "") -> Verdict:
    """The verdict on candidates' scores (see the module's docstring for the method).

    Args:
        candidates: each candidate's scores, in any order.
        direction: ``maximize`` or ``minimize``, the objective's.
        top: candidates shown (all take part in ``P(best)``).
        draws: draws of each candidate's mean.
        seed: the draws' seed.
        hint: how to get a verdict when every candidate has one score.
        scope: which candidates, on what (:attr:`Verdict.scope`).

    Example:
        >>> v = verdict([Scores("a", (0.5, 0.5)), Scores("b", (0.5, 0.5))], "minimize")
        >>> [round(s.p_best, 2) for s in v.standings], v.standings[1].within_noise
        ([0.5, 0.5], True)
    """
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction={direction!r} is not allowed; give maximize or minimize")
    sign = 1.0 if direction == "maximize" else -1.0
    clean = []
    for candidate in candidates:
        values = np.asarray(candidate.values, dtype=float)
        finite = values[np.isfinite(values)]
        mean = float(finite.mean()) if len(finite) else math.nan
        clean.append((candidate.label, finite, len(values) - len(finite), mean))
    # best mean first; a candidate without a finite score last; ties keep the given order
    clean.sort(key=lambda c: (math.isnan(c[3]), -sign * c[3] if not math.isnan(c[3]) else 0))
    compared = [i for i, c in enumerate(clean) if len(c[1]) >= 2]
    p_best: dict[int, float] = {}
    versus: dict[int, tuple[float, tuple[float, float]]] = {}
    if len(compared) >= 2:
        oriented = sign * _drawn_means([clean[i][1] for i in compared], draws, seed)
        wins = oriented == oriented.max(axis=0)
        shares = (wins / wins.sum(axis=0)).mean(axis=1)
        p_best = {i: float(share) for i, share in zip(compared, shares, strict=True)}
        for row, i in enumerate(compared[1:], start=1):
            ahead = oriented[0] - oriented[row]  # how far the leader is ahead
            better = float((ahead < 0).mean() + 0.5 * (ahead == 0).mean())
            low, high = np.quantile(ahead, [0.05, 0.95])
            versus[i] = (better, (float(low), float(high)))
    standings = tuple(
        Standing(label, tuple(float(v) for v in finite), dropped, mean,
                 float(finite.std(ddof=1)) if len(finite) >= 2 else None,
                 p_best.get(i), *(versus.get(i) or (None, None)))
        for i, (label, finite, dropped, mean) in enumerate(clean[:top]))
    return Verdict(direction, standings, len(compared),
                   draws if len(compared) >= 2 else 0, hint, scope)
