"""A markdown document as the checks see it: headings in a tree, prose and table rows with
their line numbers, code left out.

markdown-it-py does the parsing (the same CommonMark + tables GitHub renders), so a pipe
inside a code span, a setext heading or a `#` inside a fence is read the way a reader
sees it, not the way a regular expression guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Bold labels ("**Trigger:** ...") act as headings below every real heading level.
LABEL_LEVEL = 7
LABEL_MAX = 60
# Stand-in for a code span: its contents are quoted code, not the author's own words.
CODE_PLACEHOLDER = "`code`"


@dataclass(frozen=True)
class Text:
    """One run of prose (a paragraph, list item, table cell or heading) as plain text.

    `line` is the 1-based line of the first character; `line_starts` holds the offset in
    `text` where each later source line begins, so a match maps back to its own line.
    """

    line: int
    text: str
    line_starts: tuple[int, ...] = ()
    kind: str = "prose"  # prose | heading | cell | list-item
    links: int = 0

    def line_of(self, offset: int) -> int:
        return self.line + sum(1 for start in self.line_starts if start <= offset)


@dataclass(frozen=True)
class Row:
    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    line: int
    header: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass
class Section:
    """A heading and what follows it up to the next heading of any level (`texts`,
    `tables`, `other_blocks`), with the sections nested under it as `children`."""

    title: str
    level: int
    line: int
    texts: list[Text] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    other_blocks: int = 0  # code blocks, diagrams, images in raw HTML: content, not prose
    children: list[Section] = field(default_factory=list)

    def walk(self) -> list[Section]:
        found = [self]
        for child in self.children:
            found += child.walk()
        return found


@dataclass
class Document:
    root: Section  # level 0: what comes before the first heading
    texts: list[Text]  # every prose run in order, headings and table cells included

    def sections(self) -> list[Section]:
        return self.root.walk()[1:]


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def parse(source: str) -> Document:
    tokens = _parser().parse(source)
    root = Section(title="", level=0, line=1)
    stack = [root]
    texts: list[Text] = []
    nesting = 0  # inside a list or a quote
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            inline = tokens[index + 1]
            heading = _text(inline, "heading")
            texts.append(heading)
            level = int(token.tag[1:])
            while stack[-1].level >= level:
                stack.pop()
            section = Section(title=heading.text.strip(), level=level, line=heading.line)
            stack[-1].children.append(section)
            stack.append(section)
            index += 3
            continue
        if token.type == "table_open":
            table, index, cells = _table(tokens, index)
            stack[-1].tables.append(table)
            texts += cells
            continue
        if token.type in ("bullet_list_open", "ordered_list_open", "blockquote_open"):
            nesting += 1
        elif token.type in ("bullet_list_close", "ordered_list_close", "blockquote_close"):
            nesting -= 1
        elif token.type == "inline":
            text = _text(token, "list-item" if nesting else "prose")
            texts.append(text)
            label = None if nesting else _label(token)
            if label is not None:
                title, rest = label
                while stack[-1].level >= LABEL_LEVEL:
                    stack.pop()
                section = Section(title=title, level=LABEL_LEVEL, line=text.line)
                stack[-1].children.append(section)
                stack.append(section)
                text = Text(line=text.line, text=rest, kind="prose", links=text.links)
            if text.text.strip():
                stack[-1].texts.append(text)
        elif _is_non_prose_content(token):
            stack[-1].other_blocks += 1
        index += 1
    return Document(root=root, texts=texts)


def _label(inline: Token) -> tuple[str, str] | None:
    """A paragraph that opens with a bold label ("**Detection:** ...", or "**Five whys**"
    alone) works as a heading in many postmortems: (label, the text after it)."""
    children = [c for c in inline.children or [] if not (c.type == "text" and not c.content)]
    if not children or children[0].type != "strong_open":
        return None
    close = next((i for i, c in enumerate(children) if c.type == "strong_close"), None)
    if close is None:
        return None
    label = "".join(c.content for c in children[1:close] if c.type == "text").strip()
    rest = "".join(_plain(c) for c in children[close + 1 :])
    if not label or len(label) > LABEL_MAX:
        return None
    if label.endswith(":"):
        return label[:-1].strip(), rest.strip()
    if rest.lstrip().startswith(":"):
        return label, rest.lstrip()[1:].strip()
    if not rest.strip():
        return label, ""
    return None  # bold words that open a sentence


def _plain(child: Token) -> str:
    if child.type in ("text", "html_inline"):
        return child.content
    if child.type == "code_inline":
        return CODE_PLACEHOLDER
    return " " if child.type in ("softbreak", "hardbreak") else ""


def _table(tokens: list[Token], index: int) -> tuple[Table, int, list[Text]]:
    opening = tokens[index].map
    start = opening[0] + 1 if opening else 1
    header: list[str] = []
    rows: list[Row] = []
    cells: list[Text] = []
    current: list[str] = []
    row_line = start
    in_head = False
    index += 1
    while index < len(tokens) and tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            current = []
            row_line = token.map[0] + 1 if token.map else row_line
        elif token.type == "inline":
            cell = _text(token, "cell")
            current.append(cell.text.strip())
            cells.append(cell)
        elif token.type == "tr_close":
            if in_head:
                header = current
            else:
                rows.append(Row(line=row_line, cells=tuple(current)))
        index += 1
    return Table(line=start, header=tuple(header), rows=tuple(rows)), index + 1, cells


def _text(inline: Token, kind: str) -> Text:
    """Plain text of an inline token: emphasis and link markup dropped, code spans
    replaced, line breaks kept (as spaces) with their offsets."""
    parts: list[str] = []
    line_starts: list[int] = []
    links = 0
    for child in inline.children or []:
        if child.type in ("text", "html_inline"):
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(CODE_PLACEHOLDER)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
            line_starts.append(sum(len(p) for p in parts))
        elif child.type == "link_open":
            links += 1
        elif child.type == "image":
            parts.append(child.content)
    if not inline.children and inline.content:
        parts.append(inline.content)
    line = inline.map[0] + 1 if inline.map else 1
    return Text(
        line=line, text="".join(parts), line_starts=tuple(line_starts), kind=kind, links=links
    )


def _is_non_prose_content(token: Token) -> bool:
    """A code block, a diagram, or raw HTML other than a comment (a comment is a note
    to the author, often a template's "fill this in", not content)."""
    if token.type in ("fence", "code_block"):
        return True
    stripped = token.content.strip()
    is_comment = stripped.startswith("<!--") and stripped.endswith("-->")
    return token.type == "html_block" and not is_comment
