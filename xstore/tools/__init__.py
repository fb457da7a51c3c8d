"""Tools built on the faces: the command line (:mod:`~.cli`) and what it runs
(:mod:`~.tree`, :mod:`~.cat`, :mod:`~.plot`, :mod:`~.convert`, :mod:`~.check`,
:mod:`~.demo`), and the type table (:mod:`~.typetable`)."""
