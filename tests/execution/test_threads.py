"""The thread environment of a process that trains."""

import pytest

from cifar_search.execution.threads import THREAD_VARS, thread_env


@pytest.mark.parametrize("threads, value", [(1, "1"), (4, "4")])
def test_thread_env_sets_every_pool(threads, value):
    assert thread_env(threads) == {name: value for name in THREAD_VARS}
    assert set(THREAD_VARS) == {"OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                "TF_NUM_INTEROP_THREADS"}
