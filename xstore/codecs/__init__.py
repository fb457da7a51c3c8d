"""Python values <-> :class:`~xstore.model.Var` / :class:`~xstore.model.Tree`.

Codecs know nothing of files.  :mod:`~xstore.codecs.context` holds what every codec
sees, :mod:`~xstore.codecs.registry` how a codec is chosen, and
:mod:`~xstore.codecs.defaults` the registry xstore uses.  This package imports
nothing itself: import the module you need.
"""
