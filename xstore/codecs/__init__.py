"""Python values <-> :class:`~xstore.nodes.Var` / :class:`~xstore.nodes.Tree`.

Codecs know nothing of files.  ``encode(value, ctx)`` and ``decode(node, ctx)`` are
the whole interface; :mod:`xstore.codecs.registry` says which codec handles what.
"""

from xstore.codecs.base import DecodeContext, EncodeContext
from xstore.codecs.registry import decode, encode
from xstore.codecs.user import register_codec

__all__ = ["DecodeContext", "EncodeContext", "decode", "encode", "register_codec"]
