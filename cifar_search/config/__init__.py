"""What a sweep asks for, as validated plain data: no search library, no TensorFlow.

``space`` (a search space: ``params`` its typed parameters, ``parse`` their parsing against
``rules``, ``yaml_loader`` the bounded YAML reader), ``sweep`` (the ``Sweep``, made of the
``specs`` Data/Budget/Objective/... and the ``parts`` Sampler/Pruner/Oracle), ``load`` (a sweep
file to a ``Sweep``), ``checks`` (the space against the model family, the training settings as
fixed parameters) and ``families`` (the model families and the names a space may use). Each
engine checks its own settings and translates the space for its library
(``cifar_search.engines``).
"""
