"""Planning a write before any I/O: stored names, dimension names, dimension checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xstore.model import Node, Tree, Var
from xstore.names import decode_name, dimension_name, encode_name, is_internal


@dataclass(slots=True)
class Plan:
    """A node with its stored name and resolved dimensions, checked before any I/O."""

    stored: str
    node: Node
    dims: tuple[str, ...] = ()
    children: list[tuple[str, Plan]] = field(default_factory=list)


def plan_node(depth: int, stored: str, node: Node) -> Plan:
    """The plan of writing ``node`` as ``stored`` in a group at ``depth``."""
    if isinstance(node, Var):
        return Plan(stored, node, var_dims(depth, stored, node))
    plan = Plan(stored, node)
    plan.children = [
        (name, plan_node(depth + 1, encode_name(name), child))
        for name, child in node.children.items()
    ]
    return plan


def var_dims(depth: int, stored: str, var: Var) -> tuple[str, ...]:
    ndim = len(var.data.shape)
    dims = var.dims or (None,) * ndim
    if len(dims) != ndim:
        raise ValueError(f"{len(dims)} dimension names for a {ndim}-d array {stored!r}")
    return tuple(
        dimension_name(depth, stored, axis) if dim is None else encode_name(dim)
        for axis, dim in enumerate(dims)
    )


def same_attr(old: Any, new: Any) -> bool:
    if old is None or type(old) is not type(new):
        return False
    return bool(np.array_equal(old, new)) if isinstance(new, np.ndarray) else bool(old == new)


def has_user_dims(node: Node) -> bool:
    if isinstance(node, Var):
        return node.dims is not None and any(d is not None for d in node.dims)
    return any(has_user_dims(child) for child in node.children.values())


def _walk_vars(plan: Plan) -> Iterator[Plan]:
    for _, child in plan.children:
        if isinstance(child.node, Var):
            yield child


def check_dims(plan: Plan, inherited: dict[str, tuple[int, str]], where: str) -> None:
    """``ValueError`` if a user-named dimension in ``plan`` has two sizes on one
    root-to-leaf path (``inherited``: the sizes above it, with where they are)."""
    local: dict[str, tuple[int, str]] = {}
    for child in _walk_vars(plan):
        assert isinstance(child.node, Var)
        for dim, size in zip(child.dims, child.node.data.shape, strict=True):
            if is_internal(dim):
                continue
            for seen in (inherited, local):
                if dim in seen and seen[dim][0] != size:
                    var = f"{where}/{decode_name(child.stored)}"
                    raise ValueError(
                        f"dimension {decode_name(dim)!r} of {var} has "
                        f"size {size}, but {seen[dim][1]} uses it with size {seen[dim][0]}; "
                        "xarray cannot open a tree where one dimension has two sizes"
                    )
            local[dim] = (size, where)
    below = {**inherited, **local}
    for name, child in plan.children:
        if isinstance(child.node, Tree):
            check_dims(child, below, f"{where}/{name}")
