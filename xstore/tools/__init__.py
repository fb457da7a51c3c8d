"""Tools built on the faces: the command line (:mod:`~.cli`) and what it runs
(:mod:`~.tree`, :mod:`~.check`, :mod:`~.convert`, :mod:`~.demo`), and the type table
(:mod:`~.typetable`)."""
