"""One trial's model and its training, inside a worker process.

``build`` (parameters → compiled ``keras.Model``, no I/O), ``data`` (the decoded cache, its
identity, splits), ``sources`` (reading a data source safely, within limits),
``pipeline`` (the ``tf.data`` input of a trial), ``feed`` (which input a trial gets:
``tf.data``, or a ``PyDataset`` on JAX without TensorFlow), ``train`` (the trainer: task →
fit → result) and ``checkpoint`` (the per-epoch checkpoint on disk; reading it needs no TensorFlow).
Importing this package imports nothing heavy; its modules are imported by name.
"""
