"""The worker process runs whatever task runner its pool is given: the execution layer itself
imports neither the trainer nor tracking."""

import subprocess
import sys


def test_the_execution_layer_imports_neither_the_trainer_nor_tracking():
    code = ("import sys, cifar_search.execution.local, cifar_search.execution.worker;"
            "print(sorted(m for m in sys.modules if m.startswith(('cifar_search.model',"
            " 'cifar_search.tracking', 'cifar_search.session'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr
