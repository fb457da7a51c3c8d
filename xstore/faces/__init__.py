"""The faces users call: :mod:`~.api` (``save``/``load``/``open``), :mod:`~.store`
(the dict-like ``Store``), :mod:`~.interface` (``StorageInterface``); all of them
work through :class:`xstore.core.session.Session`."""
