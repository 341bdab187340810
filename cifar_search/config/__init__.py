"""What a sweep asks for, as validated plain data (no TensorFlow).

``space`` (a search-space file → typed parameters), ``sweep`` (a sweep file → a validated
``Sweep``) and ``families`` (the model families and the names a space may use).
"""
