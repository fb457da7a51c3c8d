"""Appended series: :mod:`~.buffer` (one series and its waiting records),
:mod:`~.records` (checking records), :mod:`~.lockstep` (series sharing a record
dimension) and :mod:`~.writer` (the writer of one open store)."""
