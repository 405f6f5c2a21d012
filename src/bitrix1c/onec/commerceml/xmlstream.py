"""A safe, streaming reader of CommerceML files on top of the standard expat parser.

Files from 1C reach 100,000 goods and more, so they are never loaded whole: the reader
feeds the parser 64 KB at a time and hands out one *record* (a ``Товар``, a ``Предложение``,
a ``Документ`` …) as soon as its end tag is read, detached from the rest of the tree.

Safety: a DOCTYPE, an entity declaration or an external entity stops the parse, so entity
expansion ("billion laughs") and external entities (XXE) cannot happen and nothing is
fetched from the network — the same rules ``defusedxml`` applies.  The encoding comes from
the XML declaration (UTF-8, UTF-8 with a BOM, windows-1251); namespaces are ignored
(``urn:1C.ru:commerceml_2``, another prefix, or none give the same names).
"""

from __future__ import annotations

import xml.parsers.expat as expat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from bitrix1c.errors import StopAndAlert

_CHUNK = 64 * 1024


class CommerceMLError(StopAndAlert):
    """The CommerceML file cannot be read."""

    hint = (
        "Open the file named in the message at the line given and check the element; "
        "then repeat the exchange from 1C. Nothing of this file was imported."
    )

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        element: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.element = element
        where = ", ".join(
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"<{element}>" if element else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(slots=True)
class Node:
    """An element: local name, attributes, text, children and the line it starts on."""

    tag: str
    attrs: dict[str, str]
    line: int
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def find(self, tag: str) -> Node | None:
        """The first child called ``tag``."""
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> list[Node]:
        """All children called ``tag``."""
        return [child for child in self.children if child.tag == tag]

    def path(self, *tags: str) -> Node | None:
        """The first descendant along ``tags`` (``node.path("Цены", "Цена")``)."""
        node: Node | None = self
        for tag in tags:
            node = node.find(tag) if node is not None else None
        return node

    def items(self, container: str, tag: str) -> list[Node]:
        """``<container><tag/>…</container>`` → the ``tag`` children (empty when absent)."""
        box = self.find(container)
        return box.findall(tag) if box is not None else []

    def value(self, tag: str) -> str | None:
        """Stripped text of the child ``tag``; None when it is absent or empty."""
        child = self.find(tag)
        if child is None:
            return None
        text = child.text.strip()
        return text or None


def _local(name: str) -> str:
    # Without namespace processing a prefixed name arrives as "prefix:Name".
    return name.rsplit(":", 1)[-1]


class _Refused(Exception):
    def __init__(self, what: str) -> None:
        self.what = what


def iter_records(
    source: Path | BinaryIO,
    is_record: Callable[[tuple[str, ...]], bool],
    *,
    name: str | None = None,
) -> Iterator[tuple[tuple[str, ...], Node]]:
    """Yield ``(path, node)`` for every element whose path from the root ``is_record``.

    A record is detached from its parent when it ends, so memory stays flat however many
    records the file holds. After the last record the root is yielded (path of length 1)
    with what remained of the tree: the headers (``Ид``, ``Наименование``, attributes).

    Raises:
        CommerceMLError: the file is not well-formed XML or uses a DTD / entities.
    """
    label = name or (source.name if isinstance(source, Path) else getattr(source, "name", None))
    label = str(label) if label is not None else None
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    paths: list[tuple[str, ...]] = []
    ready: list[tuple[tuple[str, ...], Node]] = []
    root: list[Node] = []

    def refuse(what: str) -> Callable[..., None]:
        def handler(*args: object) -> None:
            raise _Refused(what)

        return handler

    names: dict[str, str] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = names.get(tag)
        if local is None:
            local = names[tag] = _local(tag)
        if attrs:
            attrs = {_local(k): v for k, v in attrs.items() if not k.startswith("xmlns")}
        node = Node(local, attrs, parser.CurrentLineNumber)
        path = (*paths[-1], local) if paths else (local,)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)
        paths.append(path)

    def end(tag: str) -> None:
        node = stack.pop()
        path = paths.pop()
        if stack and is_record(path):
            stack[-1].children.pop()
            ready.append((path, node))

    def text(data: str) -> None:
        if stack:
            node = stack[-1]
            # Indentation between the records of a container would grow with the file.
            if node.children and data.isspace():
                return
            node.text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse("a DOCTYPE declaration")
    parser.EntityDeclHandler = refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = refuse("an entity declaration")
    parser.ExternalEntityRefHandler = refuse("an external entity")  # type: ignore[assignment]

    stream: BinaryIO = source.open("rb") if isinstance(source, Path) else source
    try:
        while True:
            chunk = stream.read(_CHUNK)
            try:
                parser.Parse(chunk, not chunk)
            except expat.ExpatError as exc:
                element = stack[-1].tag if stack else None
                raise CommerceMLError(
                    f"not well-formed XML: {expat.ErrorString(exc.code)}",
                    file=label,
                    line=exc.lineno,
                    element=element,
                ) from None
            except _Refused as exc:
                raise CommerceMLError(
                    f"{exc.what} is not allowed in CommerceML (it could expand entities or "
                    "read files); the file was refused",
                    file=label,
                    line=parser.CurrentLineNumber,
                ) from None
            except LookupError as exc:  # an encoding Python does not know
                raise CommerceMLError(f"unknown encoding: {exc}", file=label, line=1) from None
            yield from ready
            ready.clear()
            if not chunk:
                break
    finally:
        if isinstance(source, Path):
            stream.close()
    if not root:
        raise CommerceMLError("the file is empty", file=label, line=1)
    yield (root[0].tag,), root[0]
