"""The attribute-access face (openmmtools' StorageInterface): :mod:`~.drivers` open a
store, :mod:`~.nodes` are the directories and variables reached by attribute."""
