"""Issue 9: nothing on disk besides the package itself can make policydsl run code, and no
path a user or a policies folder names can hang it, exhaust its memory, or turn into a git option.

- Lark's parser tables ship in the package as JSON (repro 07): they match the grammar, parse
  exactly like tables built from it, and no pickle in the cache folder is ever read.
- An AST cache entry holding only allow-listed classes but values the lowering never makes
  (repro 08: an Aggregate.kind that is Python source) is ignored; cache files are opened by
  descriptor, without following links or blocking.
- `diff --rev` refuses a revision that git would read as an option (repro 17).
- `eval --region` reads only regular files inside the policies folder.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import pickle
import subprocess
import shutil
import sys
import time
from decimal import Decimal
from pathlib import Path

import attrs
import lark
import pytest

import policydsl
from policydsl.link import cache
from policydsl.syntax import parser
from policydsl.link import regions
from policydsl.syntax import nodes as n
from policydsl.tools.impact import UsageError, load_version
from policydsl.syntax.lower import lower
from policydsl.link.files import MAX_POLICY_BYTES, PolicyFileError, read_policy_text
from policydsl.syntax.source import SourceFile

from .conftest import DATA, EXAMPLE_POLICY, ROOT
from tests.records import outputs

POLICY_FILES = sorted(p for p in (ROOT / "policies").glob("**/*.policy")) + sorted((DATA).glob("**/*.policy"))
CLI = [sys.executable, "-m", "policydsl"]


def run(args, cwd=None, env=None, timeout=60):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


# ---- the shipped parser tables (repro 07) --------------------------------------------------


def test_shipped_tables_match_the_grammar():
    """Fails after a grammar change until `python -m policydsl.syntax.tables` is run."""
    assert parser.tables_status() == "shipped", "regenerate them: python -m policydsl.syntax.tables"
    document = json.loads((ROOT / "policydsl" / "syntax" / parser.TABLES_FILE).read_text(encoding="ascii"))
    assert document["grammar_sha256"] == hashlib.sha256((ROOT / "grammar" / "policy.lark").read_bytes()).hexdigest()
    assert document["lark_version"] == lark.__version__


def _shape(tree):
    """A parse tree with every token's type, text and position, and every node's position."""
    if isinstance(tree, lark.Token):
        return ("token", tree.type, str(tree), tree.line, tree.column, tree.end_line, tree.end_column, tree.start_pos, tree.end_pos)
    if tree is None:
        return None
    meta = tree.meta
    where = (meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos) if not meta.empty else None
    return (tree.data, where, tuple(_shape(child) for child in tree.children))


@pytest.fixture(scope="module")
def fresh():
    return parser.build_lark(parser.grammar_text())


def test_the_shipped_tables_parse_exactly_like_fresh_ones(fresh):
    shipped = parser._lark()
    assert shipped is not fresh and parser._load_shipped(parser.grammar_text()) is not None
    texts = [path.read_text(encoding="utf-8") for path in POLICY_FILES]
    assert len(texts) > 20
    for text in texts:
        try:
            expected = ("tree", _shape(fresh.parse(text)))
        except lark.exceptions.UnexpectedInput as error:
            expected = ("error", type(error).__name__, getattr(error, "pos_in_stream", None), sorted(getattr(error, "expected", ()) or ()))
        try:
            got = ("tree", _shape(shipped.parse(text)))
        except lark.exceptions.UnexpectedInput as error:
            got = ("error", type(error).__name__, getattr(error, "pos_in_stream", None), sorted(getattr(error, "expected", ()) or ()))
        assert got == expected


@pytest.mark.parametrize("snippet", [s for group in parser._EXAMPLES.values() for s in group] + ['rule x = "open', "rule x = 1 $", "rule"])
def test_syntax_errors_are_the_same_with_shipped_tables(fresh, snippet):
    def error_of(parse):
        try:
            parse(snippet)
        except lark.exceptions.UnexpectedInput as error:
            return type(error).__name__, error.pos_in_stream, sorted(getattr(error, "expected", ()) or ())
        return None

    assert error_of(parser._lark().parse) == error_of(fresh.parse)


def test_stale_tables_are_not_used():
    assert parser._load_shipped(parser.grammar_text() + "\n// changed\n") is None
    assert parser.tables_status(parser.grammar_text() + "\n") == "stale"


def test_no_pickle_in_the_cache_folder_is_ever_loaded(tmp_path):
    """Repro 07: plant a code-running pickle under every name Lark's cache used, then load a
    policy never seen before in a fresh process: nothing runs, and no tables file is written."""
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    grammar = parser.grammar_text()
    options = "lalr|propagate_positions|maybe_placeholders"
    old_name = hashlib.sha256(f"{grammar}|{options}|{lark.__version__}|{sys.version_info[:2]}".encode()).hexdigest()[:32]
    for name in (f"lark-{old_name}.pickle", "lark-0.pickle"):
        (folder / name).write_bytes(b"x\n" + pickle.dumps(Payload()))
    policy = tmp_path / "new.policy"
    policy.write_text("input { amount: money }\nrule paid: money = amount * 2\noutput paid\n", encoding="utf-8")
    before = sorted(p.name for p in folder.iterdir())
    done = run(["check", str(policy)], env=dict(os.environ, POLICYDSL_CACHE_DIR=str(folder)))
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert not [name for name in os.listdir(folder) if name.startswith("lark-") and name not in before]


def test_a_fresh_process_loads_tables_without_building_them():
    code = (
        "import time, lark; from policydsl.syntax import parser\n"
        "built = []\n"
        "real = parser.build_lark\n"
        "parser.build_lark = lambda g: built.append(g) or real(g)\n"
        "start = time.perf_counter(); parser._lark(); spent = time.perf_counter() - start\n"
        "print(len(built), spent)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=dict(os.environ, POLICYDSL_NO_CACHE="1"))
    built, _ = done.stdout.split()
    assert done.returncode == 0 and built == "0", done.stderr


# ---- the AST cache (repro 08) ---------------------------------------------------------------

VICTIM = """record Item {
  amount: money
}
input {
  claim_id: text
  items: list of Item
}
rule big_bill: bool = any(item in items where item.amount > 1000 yuan)
output big_bill
"""


def _entry_path(source) -> Path:
    return cache.directory() / f"ast-{cache.content_key([('', source.text)])}.pickle"


def _rewrite(source, change) -> None:
    """Replace the cached entry of `source` with `change(tree)`, pickled with allow-listed classes only."""
    path = _entry_path(source)
    data = path.read_bytes()
    tree, diagnostics = cache._Unpickler(io.BytesIO(data[len(cache.FORMAT) :]), source).load()
    buffer = io.BytesIO()
    buffer.write(cache.FORMAT)
    cache._Pickler(buffer, source).dump((change(tree), list(diagnostics)))
    path.write_bytes(buffer.getvalue())
    cache.clear_memory()


def _map_nodes(value, change):
    """`value` with `change` applied to every node, bottom up."""
    if isinstance(value, tuple):
        return tuple(_map_nodes(item, change) for item in value)
    if attrs.has(type(value)) and type(value).__module__ == n.__name__:
        fields = {f.name: _map_nodes(getattr(value, f.name), change) for f in attrs.fields(type(value)) if f.init}
        return change(attrs.evolve(value, **fields))
    return value


def _evaluate_victim(tmp_path, cache_dir):
    policy_file = tmp_path / "victim.policy"
    policy_file.write_text(VICTIM, encoding="utf-8")
    claims = tmp_path / "victim.jsonl"
    claims.write_text('{"claim_id": "c1", "items": [{"amount": "1200.00"}]}\n', encoding="utf-8")
    env = dict(os.environ, POLICYDSL_CACHE_DIR=str(cache_dir))
    env.pop("POLICYDSL_NO_CACHE", None)
    return run(["eval", str(policy_file), str(claims)], cwd=tmp_path, env=env)


def test_a_tampered_entry_of_allowed_classes_runs_nothing(tmp_path, cache_dir):
    """Repro 08: Aggregate.kind replaced by Python source. The entry is refused (a miss), the
    policy is parsed again, evaluates correctly, and the payload's file is never created."""
    first = _evaluate_victim(tmp_path, cache_dir)
    assert first.returncode == 0, first.stderr
    source = SourceFile(str(tmp_path / "victim.policy"), VICTIM)
    assert cache.load_ast(source) is not None
    marker = tmp_path / "PWNED-ast"
    payload = (
        "(lambda: [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]"
        f".__init__.__globals__['system']('touch {marker}'))() or any"
    )
    _rewrite(source, lambda tree: _map_nodes(tree, lambda node: attrs.evolve(node, kind=payload) if isinstance(node, n.Aggregate) else node))
    assert cache.load_ast(source) is None
    second = _evaluate_victim(tmp_path, cache_dir)
    assert second.returncode == 0, second.stderr
    assert outputs(json.loads(second.stdout)) == {"claim_id": "c1", "big_bill": True}
    assert not marker.exists()


EVIL = "__import__('os').system('touch /tmp/policydsl-pwned')"


@pytest.mark.parametrize(
    "what, change",
    [
        ("binary op", lambda node: attrs.evolve(node, op=EVIL) if isinstance(node, n.Binary) else node),
        ("literal unit", lambda node: attrs.evolve(node, unit=EVIL) if isinstance(node, n.Literal) else node),
        ("unit and value disagree", lambda node: attrs.evolve(node, value="1") if isinstance(node, n.Literal) and node.unit == "money" else node),
        ("name", lambda node: attrs.evolve(node, id=EVIL) if isinstance(node, n.Name) else node),
        ("attribute", lambda node: attrs.evolve(node, field="amount;" + EVIL) if isinstance(node, n.Attr) else node),
        ("rule name", lambda node: attrs.evolve(node, name="x y") if isinstance(node, n.RuleDef) else node),
        ("huge number", lambda node: attrs.evolve(node, value=Decimal("1E+999999")) if isinstance(node, n.Literal) and node.unit == "money" else node),
        ("NaN", lambda node: attrs.evolve(node, value=Decimal("NaN")) if isinstance(node, n.Literal) and node.unit == "money" else node),
        ("span into other text", lambda node: attrs.evolve(node, span=attrs.evolve(node.span, source=SourceFile("other", "x" * 10_000))) if isinstance(node, n.Name) else node),
        ("span past the end", lambda node: attrs.evolve(node, span=attrs.evolve(node.span, end=10**9)) if isinstance(node, n.Name) else node),
        ("a list for a name", lambda node: attrs.evolve(node, var=["item"]) if isinstance(node, n.Aggregate) else node),
    ],
)
def test_values_the_lowering_never_makes_are_a_miss(cache_dir, what, change):
    source = SourceFile("victim.policy", VICTIM)
    tree, diagnostics = lower(parser.parse_tree(source), source)
    cache.store_ast(source, (tree, diagnostics))
    cache.clear_memory()
    assert cache.load_ast(source) is not None
    _rewrite(source, lambda t: _map_nodes(t, change))
    assert cache.load_ast(source) is None, what


def test_every_policy_lowered_is_valid_for_the_cache():
    """The validator's fixed sets cover everything the lowering makes (else a miss, not wrong)."""
    for path in POLICY_FILES:
        source = SourceFile(str(path), path.read_text(encoding="utf-8"))
        tree = parser.parse_tree(source)
        if isinstance(tree, lark.Tree):
            value = lower(tree, source)
            assert cache.validate((value[0], list(value[1])), source), path


def test_cache_entries_are_opened_without_following_links_or_blocking(cache_dir, tmp_path):
    source = SourceFile("victim.policy", VICTIM)
    value = lower(parser.parse_tree(source), source)
    cache.store_ast(source, value)
    cache.clear_memory()
    path = _entry_path(source)
    real = tmp_path / "elsewhere.pickle"
    real.write_bytes(path.read_bytes())
    real.chmod(0o600)
    path.unlink()
    path.symlink_to(real)  # a link, even to a good entry of ours, is not followed
    assert cache.load_ast(source) is None
    path.unlink()
    os.mkfifo(path)  # a FIFO would block a plain open() for ever
    start = time.monotonic()
    assert cache.load_ast(source) is None
    assert time.monotonic() - start < 5


def test_a_linked_cache_folder_is_not_used(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setenv("POLICYDSL_CACHE_DIR", str(link))
    monkeypatch.delenv("POLICYDSL_NO_CACHE", raising=False)
    cache.clear_memory()
    assert cache.directory() is None
    source = SourceFile("victim.policy", VICTIM)
    cache.store_ast(source, lower(parser.parse_tree(source), source))
    assert list(real.iterdir()) == []
    cache.clear_memory()


# ---- diff --rev (repro 17) -----------------------------------------------------------------


@pytest.mark.parametrize("rev", ["--output={victim}", "HEAD..--output={victim}", "-o{victim}", "--remote=x"])
def test_a_revision_cannot_be_a_git_option(tmp_path, rev):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n", encoding="utf-8")
    done = run(["diff", f"--rev={rev.format(victim=victim)}", "policies/example/resident-2025-v2.policy", "policies/example/claims.jsonl"], cwd=ROOT)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a revision" in done.stderr and "Traceback" not in done.stderr
    assert victim.read_text(encoding="utf-8") == "keep\n"


def test_a_revision_is_looked_up_as_a_commit(tmp_path):
    with pytest.raises(UsageError, match="not a revision"):
        load_version(str(EXAMPLE_POLICY), "-", tmp_path)
    with pytest.raises(UsageError, match="cannot read policies at revision 'HEAD:README.md'"):
        load_version(str(EXAMPLE_POLICY), "HEAD:README.md", tmp_path)  # a blob, not a commit


# ---- reading policy files -------------------------------------------------------------------


@pytest.fixture
def hostile_folder(tmp_path):
    """A policies folder with one good policy, a FIFO, a link to /dev/zero and a link out of it."""
    root = tmp_path / "policies"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "good.policy").write_text(
        'policy "Good" region "G1" effective from 2025-01-01\ninput { amount: money }\nrule paid: money = amount\noutput paid\n',
        encoding="utf-8",
    )
    os.mkfifo(root / "fifo.policy")
    (root / "zero.policy").symlink_to("/dev/zero")
    outside = tmp_path / "outside.policy"
    outside.write_text('policy "Outside" region "G1" effective from 2026-01-01\ninput { amount: money }\nrule paid: money = amount * 2\noutput paid\n', encoding="utf-8")
    (root / "out.policy").symlink_to(outside)
    (root / "alias.policy").symlink_to(root / "sub" / "good.policy")  # inside: the same policy
    (root / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    return root


def test_region_index_reads_only_regular_files_inside_the_folder(hostile_folder):
    start = time.monotonic()
    found = regions.index(hostile_folder)
    assert time.monotonic() - start < 10
    assert [info.path.name for info in found] == ["good.policy"]
    skipped = "\n".join(found.skipped)
    assert len(found.skipped) == 3, skipped
    assert "fifo.policy: skipped[L505]: is a FIFO (named pipe), not a regular file" in skipped
    assert "zero.policy: skipped[L506]: a link to /dev/zero, outside" in skipped
    assert "out.policy: skipped[L506]: a link to" in skipped and "outside.policy, outside" in skipped


def test_eval_region_finishes_with_a_fifo_and_device_links_in_the_folder(hostile_folder, tmp_path):
    claims = tmp_path / "claims.jsonl"
    claims.write_text('{"claim_id": "a", "amount": "10.00"}\n', encoding="utf-8")
    done = run(["eval", "--region", "G1", "--date", "2026-06-01", "--policies", str(hostile_folder), str(claims)], cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert outputs(record) == {"claim_id": "a", "paid": "10.00"}  # not the outside policy's 20.00
    assert record["policy"]["id"] == "sub/good"  # and the record says which policy decided it
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder", "big"])
def test_read_policy_text_refuses_what_is_not_a_policy_file(tmp_path, kind):
    path = tmp_path / "p.policy"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        with open(path, "wb") as stream:
            stream.truncate(MAX_POLICY_BYTES + 1)
    start = time.monotonic()
    with pytest.raises(PolicyFileError) as caught:
        read_policy_text(path)
    assert time.monotonic() - start < 5
    assert str(caught.value).startswith("is ")


def test_read_policy_text_reads_like_read_text(tmp_path):
    path = tmp_path / "p.policy"
    path.write_bytes("policy \"医保\"\r\nrule a = 1\r\n".encode("utf-8"))
    assert read_policy_text(path) == path.read_text(encoding="utf-8")
    link = tmp_path / "l.policy"
    link.symlink_to(path)
    assert read_policy_text(link) == path.read_text(encoding="utf-8")
    with pytest.raises(PolicyFileError, match="symbolic link"):
        read_policy_text(link, follow_links=False)


@pytest.mark.parametrize("kind", ["fifo", "zero"])
@pytest.mark.parametrize("how", ["check", "fmt", "load"])
def test_commands_given_a_fifo_or_a_device_finish_with_l505(tmp_path, kind, how):
    """`check`, `fmt` and `policydsl.load` on a FIFO (which would block) or /dev/zero (which
    never ends): an error naming the file (L505; for fmt a usage error), within the timeout,
    never a hang or a memory blow-up."""
    target = tmp_path / "p.policy"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    if how == "load":
        code = f"import policydsl\ntry:\n    policydsl.load({str(target)!r})\nexcept policydsl.PolicyError as e:\n    print(e)"
        argv = [sys.executable, "-c", code]
    else:
        argv = [sys.executable, "-m", "policydsl", how, str(target)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    said = result.stdout + result.stderr
    assert "Traceback" not in said and "p.policy" in said, said
    if how == "fmt":  # fmt takes files or folders: a special file is a usage error
        assert result.returncode == 2 and "not a policy file" in said, said
        return
    assert "L505" in said, said
    if how == "check":
        assert result.returncode == 2  # a file that cannot be read as a policy is a usage problem (exits.of_policy_error)


def test_the_cache_fingerprint_covers_every_folder_of_the_package(tmp_path):
    """A module edited, moved to another folder or added anywhere in the package changes the
    fingerprint of the code (issue 10: no list of file names to forget)."""
    package = tmp_path / "policydsl"
    shutil.copytree(ROOT / "policydsl", package, ignore=shutil.ignore_patterns("__pycache__"))
    seen = {cache.package_fingerprint(package)}
    (package / "ir" / "nodes.py").write_text((package / "ir" / "nodes.py").read_text() + "\n# edited\n")
    seen.add(cache.package_fingerprint(package))
    (package / "syntax" / "printer.py").rename(package / "tools" / "printer.py")
    seen.add(cache.package_fingerprint(package))
    (package / "backends" / "columnar.py").write_text('"""new"""\n')
    seen.add(cache.package_fingerprint(package))
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.json").write_text("{}")  # caches do not count
    seen.add(cache.package_fingerprint(package))
    assert len(seen) == 4
    assert cache.code_fingerprint() == cache.package_fingerprint(ROOT / "policydsl")
