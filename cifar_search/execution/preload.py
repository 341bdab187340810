"""What the fork server imports once for every worker it forks: TensorFlow, Keras and the
worker module, with what TensorFlow prints while it loads silenced (its start-up lines would
otherwise reach the terminal before any worker could send its output to the workspace's log).
"""

from __future__ import annotations

from cifar_search.quiet import import_tensorflow

import_tensorflow("cifar_search.execution.worker")
