"""Planning a write before any I/O: stored names, dimension names, dimension checks.

How axes are named (format 2, see ``docs/format.md``):

- An axis the user named (``dims=``, a DataArray's or Dataset's dims, ``record_dim=``)
  keeps its name.
- Any other axis of length ``n`` is ``dim_<n>``, shared by every such axis, so a name
  never has two sizes and 10,000 small arrays share a handful of dimensions.
- Where ``dim_<n>`` is taken -- a variable of that name in the group, or a user's
  dimension of that name and another length on the group's root-to-leaf path (e.g.
  xarray's default ``dim_2`` of a 3-d DataArray) -- the axis is ``_xs_dim_<n>``,
  which no user name can be.
- A user's dimension named ``dim_<k>`` whose length is not ``k`` is stored escaped
  (``_x_dim_<k>``; read back as ``dim_<k>``) where ``dim_<k>`` already names axes of
  length ``k`` on its path, and always when it is a ``record_dim`` (it grows).
- The record axis of a series without a ``record_dim`` gets a name of its own
  (:func:`~xstore.names.dimension_name`): it grows, so nothing may share it.
- A new variable named like a dimension of its group that is not its own (only
  dimension) is stored escaped, so plain xarray does not take it for a coordinate.

Format-1 stores keep their naming when they are extended: every unnamed axis gets a
name of its own.  Either way a user dimension that would have two sizes on one
root-to-leaf path (xarray refuses to open such a tree) raises ``ValueError`` before
anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from xstore.model import Node, Tree, Var
from xstore.names import (
    decode_name,
    dimension_name,
    encode_name,
    escape_name,
    fallback_dim,
    generated_dim,
    generated_length,
)

#: stored dimension name -> {size: the group (user path) where it has that size}
DimMap = dict[str, dict[int, str]]
FORMAT_1 = "1"


class Around(Protocol):
    """What a plan must respect around the group it writes into (the core answers)."""

    @property
    def naming(self) -> str:
        """The store's format: ``"1"`` gives every unnamed axis a name of its own."""
        ...

    @property
    def where(self) -> str:
        """The user path of the group (for messages), e.g. ``"/traj"``."""
        ...

    def path_dims(self) -> DimMap:
        """Dimensions of the group and of every group above it."""
        ...

    def below_dims(self) -> DimMap:
        """Dimensions of every group below the group (asked only when needed)."""
        ...

    def here_dims(self) -> dict[str, int]:
        """Dimensions of the group itself."""
        ...

    def has_variable(self, stored: str) -> bool:
        """A variable of the group is stored under ``stored``."""
        ...


@dataclass(slots=True)
class Plan:
    """A node with its stored name and resolved dimensions, checked before any I/O."""

    stored: str
    node: Node
    dims: tuple[str, ...] = ()
    children: list[tuple[str, Plan]] = field(default_factory=list)
    #: a variable named like a dimension of its group that is not its own dimension
    clash: bool = False


def record_dim_name(record_dim: str, naming: str) -> str:
    """The stored name of a user's record dimension (format 2 escapes ``dim_<k>``:
    a growing axis never takes a name that unnamed axes of length ``k`` use)."""
    if naming != FORMAT_1 and generated_length(record_dim) is not None:
        return escape_name(record_dim)
    return encode_name(record_dim)


def plan_node(
    depth: int, stored: str, node: Node, around: Around, *, final: str | None = None
) -> Plan:
    """The plan of writing ``node`` as ``stored`` into a group at ``depth``; ``final``
    is the name it will have once committed (``stored`` may be a staged name)."""
    return _Planner(around).top(depth, stored, final or stored, node)


def same_attr(old: Any, new: Any) -> bool:
    if old is None or type(old) is not type(new):
        return False
    return bool(np.array_equal(old, new)) if isinstance(new, np.ndarray) else bool(old == new)


class _Scope:
    """The dimensions around one group while its variables are named."""

    def __init__(
        self,
        where: str,
        path: DimMap,
        below: Callable[[], DimMap],
        has_variable: Callable[[str], bool],
    ) -> None:
        self.where = where
        self.path = {name: dict(sizes) for name, sizes in path.items()}  # grows as we name
        self._below = below
        self._below_map: DimMap | None = None
        self.has_variable = has_variable

    def below(self) -> DimMap:
        if self._below_map is None:
            self._below_map = self._below()
        return self._below_map

    def add(self, name: str, size: int, var: str) -> None:
        """Record that variable ``var`` of this group uses ``name`` with ``size``;
        ``ValueError`` if the name has another size on the path."""
        sizes = self.path.setdefault(name, {})
        for other, where in sizes.items():
            if other != size:
                raise _two_sizes(name, size, _join(self.where, var), other, where)
        sizes[size] = self.where

    def check_below(self, name: str, size: int, var: str) -> None:
        for other, where in self.below().get(name, {}).items():
            if other != size:
                raise _two_sizes(name, size, _join(self.where, var), other, where)


def _two_sizes(name: str, size: int, var: str, other: int, where: str) -> ValueError:
    return ValueError(
        f"dimension {decode_name(name)!r} of {var} has size {size}, but {where} uses it "
        f"with size {other}; xarray cannot open a tree where one dimension has two sizes"
    )


class _Planner:
    def __init__(self, around: Around) -> None:
        self.around = around
        self.v1 = around.naming == FORMAT_1
        self._existing: DimMap | None = None  # on-disk dimensions on the path

    # -- the node written into the existing group --------------------------------------------
    def top(self, depth: int, stored: str, final: str, node: Node) -> Plan:
        around = self.around
        self._existing = around.path_dims()
        if isinstance(node, Var):
            scope = _Scope(around.where, self._existing, around.below_dims, around.has_variable)
            plan = Plan(stored, node)
            self._name_group(scope, depth, [(final, plan)])
            plan.clash = not self.v1 and final in around.here_dims() and plan.dims != (final,)
            return plan
        plan = self._plan_tree(stored, node)
        self._name_tree(plan, _join(around.where, decode_name(final)), self._existing, depth + 1)
        return plan

    def _plan_tree(self, stored: str, tree: Tree) -> Plan:
        plan = Plan(stored, tree)
        plan.children = [
            (
                name,
                self._plan_tree(encode_name(name), child)
                if isinstance(child, Tree)
                else Plan(encode_name(name), child),
            )
            for name, child in tree.children.items()
        ]
        return plan

    def _name_tree(self, plan: Plan, where: str, above: DimMap, depth: int) -> None:
        """Name the axes of every variable of a new group and of the groups below it."""
        variables = [(p.stored, p) for _, p in plan.children if isinstance(p.node, Var)]
        stored = {name for name, _ in variables}
        below = self._user_dims_below(plan, where)
        scope = _Scope(where, above, lambda: below, stored.__contains__)
        self._name_group(scope, depth, variables)
        for name, child in plan.children:
            if isinstance(child.node, Tree):
                self._name_tree(child, _join(where, name), scope.path, depth + 1)

    def _user_dims_below(self, plan: Plan, where: str) -> DimMap:
        """User-named fixed dimensions (stored names) of the groups below ``plan``'s."""
        out: DimMap = {}
        for name, child in plan.children:
            if not isinstance(child.node, Tree):
                continue
            inner = _join(where, name)
            for _, grand in child.children:
                if isinstance(grand.node, Var):
                    for dim, size in self._user_axes(grand.node):
                        out.setdefault(self._user_name(dim, size, None), {})[size] = inner
            for dim, sizes in self._user_dims_below(child, inner).items():
                out.setdefault(dim, {}).update(sizes)
        return out

    @staticmethod
    def _user_axes(var: Var) -> list[tuple[str, int]]:
        given = var.dims or ()
        return [
            (dim, int(size))
            for axis, (dim, size) in enumerate(zip(given, var.data.shape, strict=False))
            if dim is not None and not (var.growable and axis == 0)
        ]

    # -- naming the variables of one group -------------------------------------------------------
    def _name_group(self, scope: _Scope, depth: int, variables: list[tuple[str, Plan]]) -> None:
        """Name the axes of ``variables`` (final name, plan) of one group: user-named
        axes first, so that generated names can avoid them."""
        named: list[list[str | None]] = []
        for final, plan in variables:
            var = plan.node
            assert isinstance(var, Var)
            shape = tuple(var.data.shape)
            given = var.dims if var.dims is not None else (None,) * len(shape)
            if len(given) != len(shape):
                raise ValueError(
                    f"{len(given)} dimension names for a {len(shape)}-d array {final!r}"
                )
            names: list[str | None] = []
            for axis, (dim, size) in enumerate(zip(given, shape, strict=True)):
                grows = var.growable and axis == 0
                if dim is None:
                    names.append(dimension_name(depth, plan.stored, 0) if grows else None)
                elif grows:
                    names.append(record_dim_name(dim, self.around.naming))
                else:
                    stored = self._user_name(dim, int(size), scope)
                    scope.add(stored, int(size), decode_name(final))
                    scope.check_below(stored, int(size), decode_name(final))
                    names.append(stored)
            named.append(names)
        for (final, plan), names in zip(variables, named, strict=True):
            var = plan.node
            assert isinstance(var, Var)
            repeats: dict[int, int] = {}
            for axis, size in enumerate(var.data.shape):
                if names[axis] is None:
                    repeat = repeats[int(size)] = repeats.get(int(size), -1) + 1
                    name = self._generated(
                        scope, depth, plan.stored, final, axis, int(size), repeat
                    )
                    scope.add(name, int(size), decode_name(final))
                    names[axis] = name
            plan.dims = tuple(n for n in names if n is not None)

    def _user_name(self, dim: str, size: int, scope: _Scope | None) -> str:
        """The stored name of a user's fixed dimension (escaped where ``dim_<k>`` names
        unnamed axes of length ``k`` on the path and ``size`` is not ``k``)."""
        stored = encode_name(dim)
        length = generated_length(dim)
        if self.v1 or length is None or length == size:
            return stored
        if length in (self._existing or {}).get(stored, {}):
            return escape_name(dim)
        if scope is not None and length in scope.below().get(stored, {}):
            return escape_name(dim)
        return stored

    def _generated(
        self, scope: _Scope, depth: int, stored: str, final: str, axis: int, size: int, repeat: int
    ) -> str:
        if self.v1:
            return dimension_name(depth, stored, axis)
        name = generated_dim(size, repeat)
        if name == final or scope.has_variable(name):
            return fallback_dim(size, repeat)
        sizes = scope.path.get(name)
        if sizes is not None:  # on the path already: fine if only with this size
            return name if set(sizes) == {size} else fallback_dim(size, repeat)
        if any(other != size for other in scope.below().get(name, {})):
            return fallback_dim(size, repeat)
        return name


def _join(where: str, name: str) -> str:
    return f"{where.rstrip('/')}/{name}"
