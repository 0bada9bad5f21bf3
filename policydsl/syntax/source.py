"""Source text and positions.

Every AST node carries a `Span` so that any diagnostic or explanation can point back
at the policy text. Spans never take part in node equality.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class SourceFile:
    """A policy's text and the name it is reported under (usually its path)."""

    name: str
    text: str = attrs.field(repr=False)

    def line(self, number: int) -> str:
        """The 1-based line `number`, without its line break ('' when out of range)."""
        lines = self.text.splitlines()
        return lines[number - 1] if 1 <= number <= len(lines) else ""

    def slice(self, span: "Span") -> str:
        return self.text[span.start : span.end]


@attrs.frozen
class Span:
    """A range of a source file: 1-based line/column, 0-based character offsets."""

    source: SourceFile = attrs.field(repr=False, eq=False)
    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int

    @property
    def location(self) -> str:
        if self.line == 0:  # the whole file: no position to point at
            return self.source.name
        return f"{self.source.name}:{self.line}:{self.column}"

    @property
    def text(self) -> str:
        return self.source.slice(self)

    @classmethod
    def point(cls, source: SourceFile, line: int, column: int, offset: int) -> "Span":
        return cls(source, line, column, line, column + 1, offset, offset + 1)

    @classmethod
    def whole_file(cls, source: SourceFile) -> "Span":
        """A span for the file as a whole (line 0): rendered as `file: ...`, without a caret."""
        return cls(source, 0, 0, 0, 0, 0, 0)
