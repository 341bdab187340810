"""The first line of a run on a machine whose GPUs the installed TensorFlow cannot use: pure."""

import pytest

from cifar_search.execution import gpu_build
from cifar_search.execution.gpu_build import (FIX_GPU_BUILD, FIX_JAX_GPU, Installed,
                                              unusable_gpu_line)
from cifar_search.execution.gpus import Gpu

L4 = Gpu(0, "NVIDIA L4", 22491)
CPU_BUILD = Installed("tensorflow-cpu", "2.21.0", cuda_build=False)
CUDA_BUILD = Installed("tensorflow", "2.21.0", cuda_build=True)


def test_a_cpu_only_build_on_a_gpu_machine_is_said_with_its_fix():
    line = unusable_gpu_line([L4, Gpu(1, "NVIDIA L4", 22491)], CPU_BUILD)
    assert line == ("GPU: this machine has 2 GPUs (NVIDIA L4) but TensorFlow 2.21.0 "
                    "(tensorflow-cpu) is a CPU-only build, so trials train on the CPU; fix: "
                    'pip uninstall -y tensorflow-cpu tensorflow && pip install '
                    '"tensorflow[and-cuda]>=2.21,<2.22"')
    assert line.endswith(FIX_GPU_BUILD) and "\n" not in line


@pytest.mark.parametrize("gpus, found", [
    ([], CPU_BUILD),  # no GPU: nothing to say
    ([L4], CUDA_BUILD),
    ([L4], Installed("tensorflow", "2.21.0", cuda_build=None)),  # unknown: no guess
    ([L4], Installed(None)),
    ([L4], Installed("tensorflow", "2.21.0", cuda_build=False, machine="aarch64")),
])
def test_nothing_is_said_where_the_gpu_is_usable_or_it_is_not_known(gpus, found):
    assert unusable_gpu_line(gpus, found) is None


def test_a_cuda_build_without_its_libraries_and_native_windows():
    missing = Installed("tensorflow", "2.21.0", cuda_build=True, cuda_libraries=False)
    assert unusable_gpu_line([L4], missing).endswith(
        'finds no CUDA libraries (cuDNN), so trials train on the CPU; fix: pip install '
        '"tensorflow[and-cuda]>=2.21,<2.22"')
    windows = Installed("tensorflow", "2.21.0", cuda_build=False, system="Windows",
                        machine="AMD64")
    assert "run under WSL2" in unusable_gpu_line([L4], windows)


def test_the_installed_build_is_read_without_importing_tensorflow(tmp_path):
    info = tmp_path / "build_info.py"
    info.write_text("import collections\nbuild_info = collections.OrderedDict("
                    "[('is_cuda_build', True), ('is_rocm_build', False)])\n")
    assert gpu_build._cuda_build(info) is True
    assert gpu_build._cuda_build(tmp_path / "missing.py") is None
    here = gpu_build.installed()  # this environment's (the CPU build, where tests run)
    assert here.distribution in ("tensorflow-cpu", "tensorflow")
    assert here.cuda_build in (True, False)


def test_on_jax_the_line_is_about_jaxs_cuda_plugin():
    line = unusable_gpu_line([L4], Installed("jax", "0.10.2", cuda_build=False))
    assert line == ("GPU: this machine has 1 GPU (NVIDIA L4) but JAX 0.10.2 has no CUDA "
                    'plugin, so trials train on the CPU; fix: pip install -U "jax[cuda12]"')
    assert line.endswith(FIX_JAX_GPU)
    assert unusable_gpu_line([L4], Installed("jax", "0.10.2", cuda_build=True)) is None
    here = gpu_build.installed("jax")  # this environment's: CPU wheels, or none
    assert here.distribution in ("jax", None) and here.cuda_build in (False, None)
