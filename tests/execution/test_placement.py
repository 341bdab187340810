"""GPU discovery's parsing and the placement of workers on simulated GPUs: pure."""

import pytest

from cifar_search.config.specs import Compute
from cifar_search.errors import ConfigError
from cifar_search.execution import devices, sizing
from cifar_search.execution.gpus import Gpu, parse_nvidia_smi, selected, visible
from cifar_search.execution.placement import (
    MEMORY_VAR,
    Placement,
    device_label,
    gpu_workers,
    place,
    share_mib,
    worker_env,
)

H100 = "NVIDIA H100 80GB HBM3"
SMI = """0, GPU-aaaa-1111, NVIDIA H100 80GB HBM3, 81559 MiB
1, GPU-bbbb-2222, NVIDIA H100 80GB HBM3, 81559 MiB
2, GPU-cccc-3333, NVIDIA A100-SXM4-40GB, 40960 MiB
3, GPU-dddd-4444, NVIDIA A100-SXM4-40GB, 40960 MiB
"""
FOUR = parse_nvidia_smi(SMI)
ONE, TWO = FOUR[:1], FOUR[:2]


def indices(placements):
    return [[g.index for g in p.gpus] for p in placements]


def test_nvidia_smi_lines_are_parsed_and_junk_is_left_out():
    assert FOUR[2] == Gpu(2, "NVIDIA A100-SXM4-40GB", 40960, "GPU-cccc-3333")
    assert parse_nvidia_smi("0, GPU-x, Quadro, Inc. RTX, 8192 MiB") == (
        Gpu(0, "Quadro, Inc. RTX", 8192, "GPU-x"),)
    assert parse_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate with the "
                            "NVIDIA driver.\n") == ()
    assert parse_nvidia_smi("0, GPU-x, A, [N/A]\n") == ()
    assert parse_nvidia_smi("") == ()


@pytest.mark.parametrize("env, expected", [
    (None, [0, 1, 2, 3]),
    ("2,0", [2, 0]),
    ("GPU-bbbb", [1]),
    ("", []),
    ("-1", []),
    ("1,7,2", [1]),  # CUDA stops at the first entry that names no GPU
    ("1,1", [1]),
])
def test_cuda_visible_devices_narrows_the_gpus(env, expected):
    assert [g.index for g in visible(FOUR, env)] == expected


def test_gpus_selects_by_index_and_names_those_there_are():
    assert [g.index for g in selected(FOUR, (2, 0))] == [2, 0]
    assert selected(FOUR, None) == FOUR
    with pytest.raises(ValueError, match=r"GPU 5 is not one of this machine's visible GPUs "
                                         r"\(0,1,2,3, as nvidia-smi numbers them\)"):
        selected(FOUR, (0, 5))
    with pytest.raises(ValueError, match=r"\(none, "):
        selected((), (0,))


@pytest.mark.parametrize("gpus, workers, per_trial, expected", [
    (ONE, 1, 1, [[0]]),
    (TWO, 2, 1, [[0], [1]]),
    (FOUR, 4, 1, [[0], [1], [2], [3]]),
    (FOUR, 2, 1, [[0], [1]]),
    (FOUR, 2, 2, [[0, 1], [2, 3]]),
    (FOUR, 1, 4, [[0, 1, 2, 3]]),
    (ONE, 2, 0.5, [[0], [0]]),
    (ONE, 4, 0.25, [[0]] * 4),
    (TWO, 2, 0.5, [[0], [1]]),  # one each before two share a GPU
    (TWO, 4, 0.5, [[0], [1], [0], [1]]),
    (FOUR, 8, 0.5, [[0], [1], [2], [3]] * 2),
    (FOUR, 5, 0.25, [[0], [1], [2], [3], [0]]),
    (ONE, 3, None, [[0]] * 3),  # the default: one GPU each in turn, shared
    (FOUR, 6, None, [[0], [1], [2], [3], [0], [1]]),
])
def test_each_worker_gets_its_gpus(gpus, workers, per_trial, expected):
    assert indices(place(gpus, workers, per_trial, data_parallel=(per_trial or 0) > 1)) == expected


def test_a_fraction_caps_each_share_of_a_gpus_memory():
    halves = place(TWO, 4, 0.5)
    assert [p.memory_mib for p in halves] == [share_mib(81559, 2)] * 4 == [40267] * 4
    quarters = place(FOUR[2:], 8, 0.25)
    assert {p.memory_mib for p in quarters} == {40960 // 4 - 512}
    assert place(ONE, 2, 0.5, memory_mb=8192)[0].memory_mib == 8192  # the lower cap wins
    assert place(ONE, 2, 0.5, memory_mb=80000)[0].memory_mib == 40267
    assert place(TWO, 2, 1)[0].memory_mib is None  # a whole GPU grows as needed
    assert place(TWO, 2, 1, memory_mb=4096)[1].memory_mib == 4096


def test_without_gpus_every_worker_sees_what_the_machine_has():
    assert place((), 3, 0.5) == (Placement(),) * 3
    assert worker_env(Placement()) == {}
    assert gpu_workers((), 1) == 0


def test_data_parallel_without_a_share_gives_every_worker_every_gpu():
    assert indices(place(TWO, 2, None, data_parallel=True)) == [[0, 1], [0, 1]]


@pytest.mark.parametrize("gpus, workers, per_trial, message", [
    (TWO, 3, 1, "3 workers at gpus_per_trial=1 need 3 GPUs and 2 are visible (0,1); at most 2 "
                "workers fit, or lower gpus_per_trial"),
    (ONE, 3, 0.5, "3 workers at gpus_per_trial=0.5 need 2 GPUs and 1 are visible (0); at most "
                  "2 workers fit"),
    (FOUR[:3], 2, 2, "2 workers at gpus_per_trial=2 need 4 GPUs and 3 are visible (0,1,2); at "
                     "most 1 workers fit"),
])
def test_more_workers_than_the_gpus_hold_are_refused(gpus, workers, per_trial, message):
    with pytest.raises(ValueError) as caught:
        place(gpus, workers, per_trial)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("gpus, per_trial, expected", [
    (ONE, None, 1), (ONE, 1, 1), (ONE, 0.5, 2), (ONE, 0.25, 4),
    (TWO, 1, 2), (TWO, 0.5, 4), (TWO, 2, 1),
    (FOUR, 1, 4), (FOUR, 2, 2), (FOUR, 0.25, 16), (FOUR, 3, 1),
])
def test_auto_is_one_worker_per_gpu_share(gpus, per_trial, expected):
    assert gpu_workers(gpus, per_trial) == expected


def test_the_environment_a_worker_starts_with():
    whole = worker_env(place(FOUR, 4, 1)[2])
    assert whole == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "2",
                     "TF_FORCE_GPU_ALLOW_GROWTH": "true",
                     "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    half = worker_env(place(TWO, 4, 0.5)[3])
    assert half == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "1",
                    MEMORY_VAR: "40267", "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.494"}
    assert worker_env(place(FOUR, 2, 2, data_parallel=True)[1])["CUDA_VISIBLE_DEVICES"] == "2,3"


@pytest.mark.parametrize("names, env, expected", [
    ([], "2", "CPU"),
    ([H100], "2", f"GPU:2 ({H100})"),
    ([H100], None, f"GPU:0 ({H100})"),
    ([H100, H100], "1,3", f"GPU:1,3 ({H100})"),
    ([H100], "GPU-bbbb", f"GPU:0 ({H100})"),  # a UUID: the backend's own index
    ([H100, "NVIDIA L4"], None, f"GPU:0,1 ({H100}, NVIDIA L4)"),
])
def test_the_device_label_names_nvidia_smis_index(names, env, expected):
    assert device_label(names, env) == expected


def test_a_run_refuses_gpus_that_are_not_there_or_do_not_fit():
    with pytest.raises(ConfigError, match=r"^compute.gpus: \[4\] is not allowed; GPU 4 is not"):
        devices.placements(Compute(gpus=(4,)), 1, found=FOUR)
    with pytest.raises(ConfigError, match=r"^compute.gpus_per_trial: 3 workers at "):
        devices.placements(Compute(gpus=(0, 2), gpus_per_trial=1), 3, found=FOUR)
    chosen = devices.placements(Compute(gpus=(3, 1), gpus_per_trial=0.5), 4, found=FOUR)
    assert indices(chosen) == [[3], [1], [3], [1]]


def test_auto_workers_on_a_gpu_machine(monkeypatch):
    from cifar_search.config.sweep import Sweep

    monkeypatch.setattr(devices, "discover", lambda: TWO)
    sweep = Sweep("s", "x.yaml", "dropout", workers="auto",
                  compute=Compute(gpus_per_trial=0.25))
    assert sizing.worker_count(sweep) == 8
    assert sizing.worker_count(sweep, planned_runs=3) == 3
    assert sizing.worker_count(Sweep("s", "x.yaml", "dropout", workers="auto")) == 2
    assert sizing.worker_count(Sweep("s", "x.yaml", "dropout", workers=5)) == 5
