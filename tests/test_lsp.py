"""`policydsl lsp`, driven over stdio as an editor drives it (pytest-lsp starts the real server
process): diagnostics of unsaved buffers across `extends`, hover with the value in force and
the chain of policies that set it, definition and references across `extends`, symbols,
completion, formatting, rename and quick fixes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

FRAME = '''policy "Frame"
  version "1"

enum Level { 1, 2, 3 }

record Person {
  category: Category
  age: int
}

enum Category { ordinary, poor }

input {
  level: Level
  person: Person
  amount: money
}

table deductible: Level -> money cite "frame, item 1" {
  1: 100 yuan
  2: 200 yuan
  3: 300 yuan
}

param ratio = 50%
  because "Half of what is above the deductible"
  cite "frame, item 2"

rule paid: money = round(max(0 yuan, amount - deductible[level]) * ratio, half_up)

output paid
'''

REGION = '''policy "Region"
  version "1"
  extends "frame/f"

override param ratio = 70% cite "region, item 5"

rule bonus: money = when person.category = poor then round(paid * 10%, half_up) otherwise 0 yuan

output bonus
'''


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "policydsl", "lsp", "--as-of", "2025-06-01"]))
async def client(lsp_client: LanguageClient, tmp_path):
    (tmp_path / "policies" / "frame").mkdir(parents=True)
    (tmp_path / "policies" / "region").mkdir(parents=True)
    (tmp_path / "policies" / "frame" / "f.policy").write_text(FRAME, encoding="utf-8")
    (tmp_path / "policies" / "region" / "r.policy").write_text(REGION, encoding="utf-8")
    params = lsp.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=from_fs_path(str(tmp_path)))
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


def _uri(tmp_path, name: str) -> str:
    return from_fs_path(str((tmp_path / "policies" / name).resolve()))


async def _open(client: LanguageClient, uri: str, text: str, version: int = 1, others: int = 0):
    """Open a buffer and wait for its diagnostics (and for those of `others` open buffers
    analysed again after it)."""
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(uri=uri, language_id="policydsl", version=version, text=text)))
    for _ in range(1 + others):
        await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


def _at(text: str, needle: str, shift: int = 0) -> lsp.Position:
    offset = text.index(needle) + shift
    return lsp.Position(line=text.count("\n", 0, offset), character=offset - (text.rfind("\n", 0, offset) + 1))


@pytest.mark.asyncio
async def test_diagnostics_of_an_unsaved_buffer_and_after_an_edit(client: LanguageClient, tmp_path):
    uri = _uri(tmp_path, "region/r.policy")
    await _open(client, uri, REGION.replace("paid * 10%", "payd * 10%"))
    (found,) = client.diagnostics[uri]
    assert (found.code, found.message.splitlines()[0], found.severity) == ("C200", "undefined name `payd`", lsp.DiagnosticSeverity.Error)
    assert found.range.start == _at(REGION, "paid * 10%")
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=REGION)],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []


@pytest.mark.asyncio
async def test_an_unsaved_parent_is_what_the_child_is_checked_against(client: LanguageClient, tmp_path):
    frame_uri, region_uri = _uri(tmp_path, "frame/f.policy"), _uri(tmp_path, "region/r.policy")
    await _open(client, region_uri, REGION)
    assert list(client.diagnostics[region_uri]) == []
    await _open(client, frame_uri, FRAME.replace("param ratio = 50%", "param share = 50%").replace("* ratio,", "* share,"), others=1)
    messages = [d.message.splitlines()[0] for d in client.diagnostics[region_uri]]
    assert "`override param ratio`: the parent policy defines no param `ratio`" in messages


@pytest.mark.asyncio
async def test_hover_gives_type_value_citation_and_the_chain_of_policies(client: LanguageClient, tmp_path):
    uri = _uri(tmp_path, "region/r.policy")
    await _open(client, uri, REGION)
    # `ratio` is read in the frame's rule; hover it where the region overrides it
    hover = await client.text_document_hover_async(lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=_at(REGION, "ratio = 70%", 1)))
    text = hover.contents.value
    assert text.startswith("**param `ratio`**: ratio")
    assert "value in force on 2025-06-01: `70%`" in text
    assert "cite: region, item 5" in text
    assert "set in " in text and "r.policy, overriding " in text and "f.policy" in text


@pytest.mark.asyncio
async def test_definition_across_extends_and_references(client: LanguageClient, tmp_path):
    uri = _uri(tmp_path, "region/r.policy")
    await _open(client, uri, REGION)
    where = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=_at(REGION, "paid * 10%", 1))
    )
    assert where.uri == _uri(tmp_path, "frame/f.policy") and where.range.start == _at(FRAME, "paid: money", 0)
    found = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri), position=_at(REGION, "paid * 10%", 1), context=lsp.ReferenceContext(include_declaration=True)
        )
    )
    places = sorted((Path(lsp_uri_path(r.uri)).name, r.range.start.line) for r in found)
    # the frame's definition and its `output paid`, the region's use
    assert places == [("f.policy", FRAME[: FRAME.index("rule paid")].count("\n")), ("f.policy", FRAME[: FRAME.index("output paid")].count("\n")), ("r.policy", 6)]


def lsp_uri_path(uri: str) -> str:
    from pygls.uris import to_fs_path

    return to_fs_path(uri)


@pytest.mark.asyncio
async def test_symbols_and_completion(client: LanguageClient, tmp_path):
    uri = _uri(tmp_path, "frame/f.policy")
    await _open(client, uri, FRAME)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert [(s.name, s.kind) for s in symbols] == [
        ("Level", lsp.SymbolKind.Enum), ("Person", lsp.SymbolKind.Struct), ("Category", lsp.SymbolKind.Enum), ("input", lsp.SymbolKind.Struct),
        ("deductible", lsp.SymbolKind.Array), ("ratio", lsp.SymbolKind.Constant), ("paid", lsp.SymbolKind.Function),
    ]
    assert [c.name for c in symbols[1].children] == ["category", "age"]
    # after `person.`: the record's fields
    edited = FRAME.replace("output paid", "rule later: int = person.\noutput paid")
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2), content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=edited)]
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    items = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=_at(edited, "person.\n", len("person.")))
    )
    assert sorted(i.label for i in items.items) == ["age", "category"]
    items = await client.text_document_completion_async(
        lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=_at(edited, "rule later", 0))
    )
    labels = {i.label for i in items.items}
    assert {"deductible", "ratio", "paid", "amount", "ordinary", "poor", "when", "round", "money"} <= labels


@pytest.mark.asyncio
async def test_formatting_through_the_formatter(client: LanguageClient, tmp_path):
    uri = _uri(tmp_path, "region/r.policy")
    messy = REGION.replace("override param ratio = 70% cite", "override   param ratio=70%   cite")
    await _open(client, uri, messy)
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(text_document=lsp.TextDocumentIdentifier(uri=uri), options=lsp.FormattingOptions(tab_size=2, insert_spaces=True))
    )
    (edit,) = edits
    from policydsl.tools.formatter import format_text

    assert edit.new_text == format_text(messy) and 'override param ratio = 70%\n  cite "region, item 5"\n' in edit.new_text


@pytest.mark.asyncio
async def test_rename_within_a_policy(client: LanguageClient, tmp_path):
    uri = _uri(tmp_path, "region/r.policy")
    await _open(client, uri, REGION)
    edit = await client.text_document_rename_async(
        lsp.RenameParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=_at(REGION, "bonus: money", 1), new_name="extra")
    )
    changes = edit.changes[uri]
    assert sorted((c.range.start.line, c.new_text) for c in changes) == [(6, "extra"), (8, "extra")]  # the rule and its output


@pytest.mark.asyncio
async def test_quick_fixes_take_the_did_you_mean_and_add_override(client: LanguageClient, tmp_path):
    uri = _uri(tmp_path, "region/r.policy")
    text = REGION.replace("paid * 10%", "payd * 10%").replace("override param ratio", "param ratio")
    await _open(client, uri, text)
    diagnostics = client.diagnostics[uri]
    assert sorted(d.code for d in diagnostics) == ["C200", "C243"]
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri),
            range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=diagnostics),
        )
    )
    fixes = {a.title: a.edit.changes[uri][0] for a in actions}
    assert fixes["Change to `paid`"].new_text == "paid" and fixes["Change to `paid`"].range.start == _at(text, "payd")
    assert fixes["Add `override`"].new_text == "override " and fixes["Add `override`"].range.start == _at(text, "param ratio")


def test_a_buffer_with_syntax_errors_gets_each_once_and_no_follow_on_errors():
    """What the server publishes for the five-error golden file: its five syntax errors, not the
    "output is not defined" that would only follow from the definitions that did not parse."""
    from policydsl.lsp.analysis import Analyzer

    path = Path(__file__).resolve().parent / "data" / "broken" / "syntax_five_errors.policy"
    found = Analyzer().analyze(path).diagnostics
    assert [d.code for d in found] == ["P100"] * 5
