"""`policydsl lsp`: the language server, on pygls, over stdio.

Takes LSP requests and notifications from an editor; gives diagnostics as the author types
(every open buffer analysed again on each change, and the open policies that extend it),
hover, go to definition, references, document symbols, completion, formatting, rename and
code actions. The answers come from lsp/analysis.py (offsets and spans); this module turns
positions into offsets and spans into ranges (LSP counts UTF-16 code units in a line).

Settings (initializationOptions or the `policydsl` section of workspace/didChangeConfiguration):
`asOf` (YYYY-MM-DD), the day whose values hover shows (default: today).
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from policydsl import __version__
from policydsl.diagnostics.model import Severity
from policydsl.lsp import analysis
from policydsl.syntax.source import Span

SYMBOL_KINDS = {
    "enum": lsp.SymbolKind.Enum, "record": lsp.SymbolKind.Struct, "input": lsp.SymbolKind.Struct, "param": lsp.SymbolKind.Constant,
    "table": lsp.SymbolKind.Array, "tiers": lsp.SymbolKind.Array, "rule": lsp.SymbolKind.Function, "function": lsp.SymbolKind.Function,
    "invariant": lsp.SymbolKind.Boolean, "accumulator": lsp.SymbolKind.Variable, "field": lsp.SymbolKind.Field, "member": lsp.SymbolKind.EnumMember,
}
COMPLETION_KINDS = {
    "keyword": lsp.CompletionItemKind.Keyword, "function": lsp.CompletionItemKind.Function, "field": lsp.CompletionItemKind.Field,
    "member": lsp.CompletionItemKind.EnumMember, "input": lsp.CompletionItemKind.Variable, "param": lsp.CompletionItemKind.Constant,
    "rule": lsp.CompletionItemKind.Function, "table": lsp.CompletionItemKind.Constant, "tiers": lsp.CompletionItemKind.Constant,
    "enum": lsp.CompletionItemKind.Enum, "record": lsp.CompletionItemKind.Struct, "local": lsp.CompletionItemKind.Variable,
    "type": lsp.CompletionItemKind.TypeParameter,
}
_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")


class PolicyServer(LanguageServer):
    def __init__(self):
        super().__init__("policydsl", __version__)
        self.analyzer = analysis.Analyzer()
        self.results: dict[str, analysis.Analysis] = {}
        self.as_of: datetime.date | None = None

    # ---- documents ---------------------------------------------------------------------
    def refresh(self, uri: str) -> None:
        """Analyse the buffer at `uri` and publish its diagnostics; then the other open
        buffers, which may extend it."""
        for other in [uri, *(u for u in list(self.results) if u != uri)]:
            document = self.workspace.get_text_document(other)
            result = self.analyzer.analyze(Path(to_fs_path(other)), document.source)
            self.results[other] = result
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=other, diagnostics=[_diagnostic(d, result.source) for d in result.diagnostics], version=document.version)
            )

    def analysis_of(self, uri: str) -> analysis.Analysis:
        if uri not in self.results:
            document = self.workspace.get_text_document(uri)
            self.results[uri] = self.analyzer.analyze(Path(to_fs_path(uri)), document.source)
        return self.results[uri]

    def target(self, uri: str, position: lsp.Position):
        result = self.analysis_of(uri)
        if result.checked is None or result.stale:
            return result, None
        offset = self.workspace.get_text_document(uri).offset_at_position(position)
        return result, analysis.target_at(result.checked, result.source, offset)

    def day(self) -> datetime.date:
        return self.as_of or datetime.date.today()


server = PolicyServer()


def _settings(server: PolicyServer, options) -> None:
    if isinstance(options, dict):
        options = options.get("policydsl", options)
        text = options.get("asOf") if isinstance(options, dict) else None
        if text:
            try:
                server.as_of = datetime.date.fromisoformat(text)
            except ValueError:
                server.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, f"policydsl: asOf is not a date (YYYY-MM-DD): {text!r}"))


@server.feature(lsp.INITIALIZED)
def initialized(ls: PolicyServer, params: lsp.InitializedParams):
    pass


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: PolicyServer, params: lsp.DidChangeConfigurationParams):
    _settings(ls, params.settings)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: PolicyServer, params: lsp.DidOpenTextDocumentParams):
    ls.analyzer.open(Path(to_fs_path(params.text_document.uri)), params.text_document.text)
    ls.results.pop(params.text_document.uri, None)
    ls.refresh(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: PolicyServer, params: lsp.DidChangeTextDocumentParams):
    uri = params.text_document.uri
    ls.analyzer.open(Path(to_fs_path(uri)), ls.workspace.get_text_document(uri).source)
    ls.refresh(uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: PolicyServer, params: lsp.DidSaveTextDocumentParams):
    ls.refresh(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: PolicyServer, params: lsp.DidCloseTextDocumentParams):
    uri = params.text_document.uri
    ls.analyzer.close(Path(to_fs_path(uri)))
    ls.results.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# ---- answers ---------------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: PolicyServer, params: lsp.HoverParams):
    result, target = ls.target(params.text_document.uri, params.position)
    if target is None:
        return None
    text = analysis.hover(result.checked, target, ls.day())
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=_range(target.span))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: PolicyServer, params: lsp.DefinitionParams):
    _, target = ls.target(params.text_document.uri, params.position)
    if target is None or target.definition_span is None:
        return None
    return _location(target.definition_span)


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: PolicyServer, params: lsp.ReferenceParams):
    result, target = ls.target(params.text_document.uri, params.position)
    if target is None:
        return []
    spans = analysis.references(result.checked, target, params.context.include_declaration)
    return [_location(span) for span in spans]


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(ls: PolicyServer, params: lsp.DocumentSymbolParams):
    result = ls.analysis_of(params.text_document.uri)
    if result.checked is None:
        return []
    return [_symbol(s) for s in analysis.symbols(result.checked, result.source)]


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["."]))
def completion(ls: PolicyServer, params: lsp.CompletionParams):
    document = ls.workspace.get_text_document(params.text_document.uri)
    result = ls.analysis_of(params.text_document.uri)
    offset = document.offset_at_position(params.position)
    items = analysis.completions(result.checked, document.source, offset)
    return lsp.CompletionList(
        is_incomplete=False,
        items=[lsp.CompletionItem(label=i.label, kind=COMPLETION_KINDS.get(i.kind), detail=i.detail or None) for i in items],
    )


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: PolicyServer, params: lsp.DocumentFormattingParams):
    from policydsl.tools.formatter import FormatError, format_text

    document = ls.workspace.get_text_document(params.text_document.uri)
    try:
        formatted = format_text(document.source, to_fs_path(params.text_document.uri))
    except FormatError:
        return None  # text that does not parse is left as it is (its diagnostics say why)
    if formatted == document.source:
        return []
    end = document.client_position_at_offset(len(document.source))
    return [lsp.TextEdit(range=lsp.Range(start=lsp.Position(0, 0), end=end), new_text=formatted)]


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
def rename(ls: PolicyServer, params: lsp.RenameParams):
    result, target = ls.target(params.text_document.uri, params.position)
    if target is None:
        return None
    spans = analysis.rename_edits(result.checked, result.source, target, params.new_name)
    if isinstance(spans, str):
        raise ValueError(spans)  # sent to the editor as the request's error
    edits = [lsp.TextEdit(range=_range(span), new_text=params.new_name) for span in spans]
    return lsp.WorkspaceEdit(changes={params.text_document.uri: edits})


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
def code_actions(ls: PolicyServer, params: lsp.CodeActionParams):
    uri = params.text_document.uri
    result = ls.analysis_of(uri)
    actions = []
    for diagnostic in params.context.diagnostics:
        message = diagnostic.message
        hint = (diagnostic.data or {}).get("hint") if isinstance(diagnostic.data, dict) else None
        suggested = _DID_YOU_MEAN.search(hint or "")
        if suggested is not None:
            name = suggested.group(1)
            edit = lsp.TextEdit(range=diagnostic.range, new_text=name)
            actions.append(_fix(f"Change to `{name}`", uri, [edit], diagnostic))
        if diagnostic.code == "C243" and result.checked is not None:
            offset = ls.workspace.get_text_document(uri).offset_at_position(diagnostic.range.start)
            start = _definition_start(result, offset)
            if start is not None:
                position = ls.workspace.get_text_document(uri).client_position_at_offset(start)
                edit = lsp.TextEdit(range=lsp.Range(position, position), new_text="override ")
                actions.append(_fix("Add `override`", uri, [edit], diagnostic))
        del message
    return actions


def _definition_start(result: analysis.Analysis, offset: int) -> int | None:
    """The start of the definition (of this buffer, as parsed) whose name is at `offset`."""
    from policydsl.api import parse_source

    policy_file, _ = parse_source(result.source)
    if policy_file is None:
        return None
    for definition in policy_file.definitions:
        name_span = getattr(definition, "name_span", None)
        if name_span is not None and name_span.start <= offset <= name_span.end:
            return definition.span.start
    return None


def _fix(title: str, uri: str, edits: list, diagnostic) -> lsp.CodeAction:
    return lsp.CodeAction(title=title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diagnostic], edit=lsp.WorkspaceEdit(changes={uri: edits}), is_preferred=True)


# ---- conversions ---------------------------------------------------------------------------


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _position(text: str, offset: int) -> lsp.Position:
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    return lsp.Position(line=text.count("\n", 0, offset), character=_utf16(text[line_start:offset]))


def _range(span: Span) -> lsp.Range:
    text = span.source.text
    return lsp.Range(start=_position(text, span.start), end=_position(text, span.end))


def _location(span: Span) -> lsp.Location:
    return lsp.Location(uri=from_fs_path(str(Path(span.source.name).resolve())), range=_range(span))


def _diagnostic(d, source) -> lsp.Diagnostic:
    """One diagnostic; one found in another file (a policy this one extends) is shown at the
    top of this one, naming where it is."""
    span = d.span
    message = d.message
    if span is None or span.source.name != source.name:
        if span is not None:
            message = f"{span.location}: {message}"
        span = Span(source, 1, 1, 1, 1, 0, 0)
    related = [
        lsp.DiagnosticRelatedInformation(location=_location(r.span), message=r.message) for r in d.related if r.span is not None
    ]
    if d.hint:
        message += f"\nhint: {d.hint}"
    return lsp.Diagnostic(
        range=_range(span),
        message=message,
        severity=lsp.DiagnosticSeverity.Warning if d.severity == Severity.WARNING else lsp.DiagnosticSeverity.Error,
        code=d.code,
        source="policydsl",
        related_information=related or None,
        data={"hint": d.hint} if d.hint else None,
    )


def _symbol(symbol: analysis.Symbol) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=symbol.name,
        kind=SYMBOL_KINDS.get(symbol.kind, lsp.SymbolKind.Variable),
        range=_range(symbol.span),
        selection_range=_range(symbol.name_span),
        detail=symbol.kind,
        children=[_symbol(c) for c in symbol.children] or None,
    )


def main() -> None:
    server.start_io()
