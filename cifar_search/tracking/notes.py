"""The markdown description of a study's parent run and experiment (MLflow's
``mlflow.note.content``, shown as the run's and the experiment's description); pure.

It says what the study optimises, which trial is best (with a link to its run), the best
model's test accuracy, how many trials ended in each state, whether the best is really better
than the others (the verdict), and the top trials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cifar_search.search.labels import shown_params, significant
from cifar_search.search.verdict import Verdict, against_leader, score_text
from cifar_search.tracking import links

#: Trials listed in the description's table.
TOP_TRIALS = 5


@dataclass(frozen=True)
class TrialLine:
    """One trial of the description's table."""

    number: int
    value: float
    params: Mapping[str, Any]
    run_id: str | None = None


@dataclass(frozen=True)
class StudyNote:
    """What the description says.

    Attributes:
        study: the study's (and experiment's) name.
        sweep_file: the sweep file it runs, as given.
        metric, direction: the objective, e.g. ``val_accuracy`` and ``maximize``.
        experiment_id: the experiment, for links to runs.
        counts: trials per outcome, e.g. ``{"complete": 4, "pruned": 1}``.
        ranked: complete trials, best first.
        swept: the swept parameters, in the space's order (the table's columns).
        test_accuracy: the best model's test accuracy, once evaluated.
        tested_trial: the trial whose model was evaluated.
        verdict: whether the best candidate is really better than the others (None: not
            said).
    """

    study: str
    sweep_file: str
    metric: str
    direction: str
    experiment_id: str
    counts: Mapping[str, int]
    ranked: Sequence[TrialLine] = ()
    swept: Sequence[str] = field(default_factory=tuple)
    test_accuracy: float | None = None
    tested_trial: int | None = None
    verdict: Verdict | None = None


#: A table cell's padding: the UI's markdown tables have none, and styles are stripped.
PAD = "&nbsp;"


def run_link(experiment_id: str, run: TrialLine) -> str:
    """``[trial-0003](#/experiments/1/runs/<id>?workflowType=machine_learning)``: a link the
    MLflow UI follows, to the run's page in model-training mode (the bare name when the run
    is unknown)."""
    link = links.run_link(experiment_id, run.run_id) if run.run_id else None
    return links.markdown_link(f"trial-{run.number:04d}", link)


def _row(cells: Sequence[str]) -> str:
    """A markdown table row, each cell padded on both sides."""
    return "| " + " | ".join(f"{PAD}{cell}{PAD}" for cell in cells) + " |"


def _counts_line(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()) if n)
    return f"**Trials:** {total}" + (f" ({parts})" if parts else "")


def _table(note: StudyNote) -> list[str]:
    top = list(note.ranked)[:TOP_TRIALS]
    if not top:
        return []
    header = ["rank", "trial", note.metric, *note.swept]
    lines = [_row(header), "|" + "---|" * len(header)]
    for rank, trial in enumerate(top, start=1):
        cells = [str(rank), run_link(note.experiment_id, trial), significant(trial.value)]
        cells += [significant(trial.params[name]) if name in trial.params else "–"
                  for name in note.swept]
        lines.append(_row(cells))
    return ["", f"Top {len(top)} trials:", "", *lines]


def verdict_markdown(verdict: Verdict | None, metric: str) -> list[str]:
    """The verdict as markdown lines: a headline and a table of the top candidates, or why
    there is none (nothing for None).

    Example:
        >>> from cifar_search.search.verdict import Scores, verdict
        >>> verdict_markdown(verdict([Scores("a", (0.5,))], "maximize"), "accuracy")[1][:40]
        '**Verdict:** none possible, each candida'
    """
    if verdict is None:
        return []
    title = verdict.title[0].upper() + verdict.title[1:]
    if not verdict.possible:
        return ["", f"**{title}:** none possible, {verdict.reason()}"]
    lines = ["", f"**{title}:** {verdict.headline()}", "",
             f"| P(best) | {metric} (scores) | candidate | against the leader |",
             "|---|---|---|---|"]
    for standing in verdict.standings:
        chance = f"{standing.p_best:.2f}" if standing.p_best is not None else "–"
        lines.append(f"| {chance} | {score_text(standing)} | {standing.label} | "
                     f"{against_leader(standing)} |")
    return lines + ["", f"_{verdict.method()[0].upper()}{verdict.method()[1:]}._"]


def study_note(note: StudyNote) -> str:
    """The description's markdown.

    Example:
        >>> print(study_note(StudyNote("dropout", "sweeps/dropout.py", "val_accuracy",
        ...                            "maximize", "1", {"complete": 1})))  # doctest: +ELLIPSIS
        Study **dropout** (sweeps/dropout.py): maximize `val_accuracy`.
        ...
    """
    lines = [f"Study **{note.study}** ({note.sweep_file}): {note.direction} `{note.metric}`.",
             "", _counts_line(note.counts)]
    if note.ranked:
        best = note.ranked[0]
        text = shown_params(best.params, note.swept)
        lines += ["", f"**Best:** {run_link(note.experiment_id, best)} with {note.metric} "
                      f"{significant(best.value)}" + (f" ({text})" if text else "")]
    if note.test_accuracy is not None:
        lines += ["", f"**Test accuracy** of trial {note.tested_trial}'s model: "
                      f"{significant(note.test_accuracy)}"]
    return "\n".join(lines + verdict_markdown(note.verdict, note.metric) + _table(note)) + "\n"
