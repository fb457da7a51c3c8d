"""The core below the faces: :mod:`~.layout` lays nodes out in a backend,
:mod:`~.series` buffers appends, :mod:`~.session` is the open store the faces use."""
