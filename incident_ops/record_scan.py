"""Read an incident record's YAML fast, whole or only some top-level fields.

Reading 10,000 records is bound by YAML, and even with libyaml most of PyYAML's time is
Python work per node: resolving each scalar's type and constructing the value. Two
things cut it here, without changing the result:

- a record written by incident-ops is block-style YAML whose bulk is the per-phase
  bookkeeping and the response log; cutting the text at its top-level keys and parsing
  only the wanted ones skips most nodes;
- scalar types are resolved once per distinct value (records repeat the same few values
  over and over), and plain strings, nulls and booleans are built directly; every other
  type goes through PyYAML's own SafeConstructor.

Text the fast path cannot be sure of (flow style, document markers, anchors, aliases,
tags, merge keys) is parsed by the standard safe loader instead.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# libyaml's parser when PyYAML was built with it.
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _libyaml_parser() -> Any:
    try:
        import yaml.cyaml
    except ImportError:  # PyYAML without libyaml: the standard loader does everything
        return None
    return getattr(yaml.cyaml, "CParser", None)


_Parser: Any = _libyaml_parser()

# A top-level key starts a line, unindented. Lines that continue its value are indented
# or are items of a block sequence ("- ..." may sit at column 0 under a key).
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?=[ \t]|$)", re.M)
_COLUMN_ZERO = re.compile(r"^[^\s#-]", re.M)
_ANCHOR_ALIAS_TAG = re.compile(r"[&*!][^\s,\]}]")
_DOCUMENT_LEVEL = ("\n---", "\n...", "\n%", "\n{", "\n[")

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL = _TAG + "str", _TAG + "null", _TAG + "bool"
_OTHER_SCALARS = {_TAG + "int", _TAG + "float", _TAG + "timestamp"}
_RESOLVED_LIMIT = 20_000


class _Unsupported(Exception):
    """A construct the fast path leaves to the standard loader."""


def load(text: str) -> Any:
    """The data in `text`, as `yaml.safe_load` gives it."""
    if _Parser is None or _needs_standard_loader(text):
        return yaml.load(text, Loader=Loader)
    try:
        return _load_fast(text)
    except _Unsupported:
        return yaml.load(text, Loader=Loader)


def read_fields(text: str, keys: Collection[str]) -> dict[str, Any]:
    """The mapping `text` holds, restricted to `keys` (absent keys are left out).

    Raises yaml.YAMLError when the text is not YAML, ValueError when it is not a mapping.
    """
    starts = [(m.start(), m.group(1)) for m in _TOP_LEVEL_KEY.finditer(text)]
    # Every unindented line that is not a comment or a sequence item must be a key we
    # recognise; anything else ("quoted": keys, "<<" merges, "? " keys) could hold a
    # wanted field the cut would miss.
    if not starts or len(_COLUMN_ZERO.findall(text)) != len(starts):
        return _restrict(yaml.load(text, Loader=Loader), keys)
    if _needs_standard_loader(text):
        return _restrict(yaml.load(text, Loader=Loader), keys)
    chunks = []
    for index, (start, key) in enumerate(starts):
        if key in keys:
            end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
            chunks.append(text[start:end])
    try:
        return _restrict(load("".join(chunks)) if chunks else {}, keys)
    except yaml.YAMLError:  # a cut in the wrong place (e.g. a quoted line at column 0)
        return _restrict(yaml.load(text, Loader=Loader), keys)


def _needs_standard_loader(text: str) -> bool:
    head = text.lstrip()[:3]
    if head.startswith(("{", "[", "%", "---")) or any(m in text for m in _DOCUMENT_LEVEL):
        return True
    return ("&" in text or "*" in text or "!" in text) and bool(_ANCHOR_ALIAS_TAG.search(text))


def _restrict(data: Any, keys: Collection[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError("the record is not a mapping of fields")
    return {key: value for key, value in data.items() if key in keys}


class _Composer(_Parser or object, yaml.resolver.Resolver):  # type: ignore[misc]
    """libyaml's composer with the type of each distinct scalar resolved once."""

    resolved: ClassVar[dict[tuple[str, tuple[bool, bool]], str]] = {}

    def __init__(self, text: str) -> None:
        _Parser.__init__(self, text)
        yaml.resolver.Resolver.__init__(self)

    # PyYAML registers no path resolvers by default; without any, following the node
    # path at every node, as the base class does, only costs time.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        if self.yaml_path_resolvers:
            yaml.resolver.Resolver.descend_resolver(self, current_node, current_index)

    def ascend_resolver(self) -> None:
        if self.yaml_path_resolvers:
            yaml.resolver.Resolver.ascend_resolver(self)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return yaml.resolver.Resolver.resolve(self, kind, value, implicit)  # type: ignore[no-untyped-call]
        key = (value, implicit)
        tag = self.resolved.get(key)
        if tag is None:
            tag = yaml.resolver.Resolver.resolve(self, kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(self.resolved) < _RESOLVED_LIMIT:
                self.resolved[key] = tag
        return tag


_constructor = yaml.constructor.SafeConstructor()


def _load_fast(text: str) -> Any:
    composer = _Composer(text)
    try:
        node = composer.get_single_node()
    finally:
        composer.dispose()
    return None if node is None else _value(node)


def _value(node: Node) -> Any:
    if isinstance(node, ScalarNode):
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return node.value.lower() in ("yes", "true", "on")
        if tag in _OTHER_SCALARS:
            # PyYAML's own conversion (bases, sexagesimals, time zones), called directly:
            # construct_object would remember every node it ever built.
            return _constructor.yaml_constructors[tag](_constructor, node)
        raise _Unsupported(tag)
    if isinstance(node, SequenceNode):
        if node.tag != _TAG + "seq":
            raise _Unsupported(node.tag)
        return [_value(item) for item in node.value]
    if isinstance(node, MappingNode) and node.tag == _TAG + "map":
        mapping = {}
        for key_node, value_node in node.value:
            key = _value(key_node)  # a merge key ("<<") has its own tag: unsupported
            if not isinstance(key, str | int | float | bool):
                raise _Unsupported("a complex key")
            mapping[key] = _value(value_node)
        return mapping
    raise _Unsupported(getattr(node, "tag", "?"))
