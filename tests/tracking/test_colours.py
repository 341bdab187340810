"""Run colours: distinct while a sweep runs, then ordered by the swept parameter."""

from cifar_search.tracking.colours import main_param, ordered_colours, running_colour


def test_consecutive_running_trials_never_share_a_colour():
    colours = [running_colour(n) for n in range(50)]
    assert all(a != b for a, b in zip(colours, colours[1:], strict=False))
    assert all(c.startswith("#") and len(c) == 7 for c in colours)


def test_final_colours_are_distinct_and_run_blue_to_red_in_the_parameters_order():
    trials = [(0, {"dropout_rate": 0.5}), (1, {"dropout_rate": 0.1}), (2, {"dropout_rate": 0.3}),
              (3, {"dropout_rate": 0.3})]
    colours = ordered_colours(trials, ["dropout_rate"])
    assert len(set(colours.values())) == 4
    order = sorted(colours, key=lambda n: int(colours[n][1:3], 16))  # by redness
    assert order == [1, 2, 3, 0]  # lowest rate bluest; a tie goes by trial number
    assert colours[1] == "#363dd9" and colours[0] == "#d93636"


def test_choices_order_as_text_and_trials_without_the_parameter_come_last():
    trials = [(0, {"activation": "tanh"}), (1, {}), (2, {"activation": "elu"})]
    colours = ordered_colours(trials, ["activation"])
    ramp = ordered_colours([(n, {}) for n in range(3)], [])
    assert [colours[2], colours[0], colours[1]] == [ramp[0], ramp[1], ramp[2]]


def test_one_trial_gets_the_ramps_start():
    assert ordered_colours([(4, {"x": 1})], ["x"]) == {4: "#363dd9"}


def test_runs_are_coloured_by_the_parameter_with_the_most_values():
    trials = [(n, {"optimizer": ("sgd", "adam")[n % 2], "learning_rate": 10.0 ** -n})
              for n in range(4)]
    assert main_param(trials, ["optimizer", "learning_rate"]) == "learning_rate"
    colours = ordered_colours(trials, ["optimizer", "learning_rate"])
    assert colours == ordered_colours(trials, ["optimizer"], by="learning_rate")
    assert colours[3] == "#363dd9" and colours[0] == "#d93636"  # the lowest rate bluest
    assert main_param([], []) is None
