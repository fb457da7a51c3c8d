"""Backends: where nodes are stored.  :mod:`~xstore.backends.base` is the protocol,
:mod:`~xstore.backends.registry` the list of backends and how a path selects one.
Backends know nothing of Python types beyond numpy (the codecs above them do)."""
