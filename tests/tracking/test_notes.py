"""The markdown description of a study's parent run and experiment."""

from cifar_search.tracking.notes import TOP_TRIALS, StudyNote, TrialLine, study_note


def note(**changes):
    fields = dict(study="dropout", sweep_file="sweeps/dropout.py", metric="val_accuracy",
                  direction="maximize", experiment_id="3",
                  counts={"complete": 2, "pruned": 1, "failed": 0},
                  ranked=[TrialLine(4, 0.71234, {"dropout_rate": 0.2}, "abc"),
                          TrialLine(1, 0.6, {"dropout_rate": 0.5}, None)],
                  swept=("dropout_rate",), test_accuracy=0.70125, tested_trial=4)
    return StudyNote(**{**fields, **changes})


LINK = "#/experiments/3/runs/abc?workflowType=machine_learning"


def row(*cells):
    return "| " + " | ".join(f"&nbsp;{cell}&nbsp;" for cell in cells) + " |"


def test_the_description_says_objective_best_test_accuracy_counts_and_top_trials():
    assert study_note(note()) == (
        "Study **dropout** (sweeps/dropout.py): maximize `val_accuracy`.\n\n"
        "**Trials:** 3 (2 complete, 1 pruned)\n\n"
        f"**Best:** [trial-0004]({LINK}) with val_accuracy 0.712 "
        "(dropout_rate=0.2)\n\n"
        "**Test accuracy** of trial 4's model: 0.701\n\n"
        "Top 2 trials:\n\n"
        f"{row('rank', 'trial', 'val_accuracy', 'dropout_rate')}\n"
        "|---|---|---|---|\n"
        f"{row(1, f'[trial-0004]({LINK})', 0.712, 0.2)}\n"
        f"{row(2, 'trial-0001', 0.6, 0.5)}\n")


def test_numbers_show_three_significant_digits():
    text = study_note(note(ranked=[TrialLine(0, 1.674321, {"dropout_rate": 1.9237305e-05},
                                             "abc")]))
    assert "with val_accuracy 1.67 (dropout_rate=1.92e-05)" in text
    assert row(1, f"[trial-0000]({LINK})", 1.67, "1.92e-05") in text


def test_before_any_complete_trial_it_says_only_the_objective_and_counts():
    text = study_note(note(ranked=[], counts={"running": 2}, test_accuracy=None))
    assert text == ("Study **dropout** (sweeps/dropout.py): maximize `val_accuracy`.\n\n"
                    "**Trials:** 2 (2 running)\n")


def test_the_table_holds_the_top_trials_and_marks_a_missing_parameter():
    ranked = [TrialLine(n, 1.0 - n / 100, {"dropout_rate": 0.1} if n else {}, None)
              for n in range(TOP_TRIALS + 3)]
    lines = study_note(note(ranked=ranked)).splitlines()
    rows = [line for line in lines if line.startswith("| ") and "rank" not in line]
    assert len(rows) == TOP_TRIALS and rows[0] == row(1, "trial-0000", 1, "–")
