"""A load cache on disk: each policy's lowered AST.

Why: parsing + lowering the example policy costs ~16 ms (more in a fresh process); analysts
and batch workers load the same policies again and again (issue 5). Checking and compiling
are cheap and always run, so a cached AST is checked exactly like a fresh one. Lark's parser
tables are not cached here: they ship in the package as JSON (parser.py, tables.py).

Where: `$POLICYDSL_CACHE_DIR`, else `$XDG_CACHE_HOME/policydsl`, else `~/.cache/policydsl`.
`POLICYDSL_NO_CACHE=1` turns the cache off.

Safety (a cache entry is never trusted to be what we wrote):
- the directory is created private (0700) and opened once, without following a symlink;
  it is used only when the *opened* directory is ours and nobody else can write to it
  (checked with fstat on the descriptor, so swapping the folder after the check changes
  nothing: every entry is then opened relative to that descriptor, again without following
  links, and fstat'ed: a regular file of ours, 0600-ish, not too big);
- an entry is unpickled with an allow-list of classes (policydsl's AST nodes, spans,
  diagnostics, Decimal, date), so it cannot name a function to call;
- and then validated (`validate`): every node's fields must hold what the lowering could
  have produced - the operators, aggregate kinds, literal units, annotation kinds and
  bounds from the grammar's fixed sets, names that the grammar's NAME could read, numbers
  within the bounds policy text is read with, spans into the policy's own text. An entry
  that fails any check is a miss, and the policy is parsed again.
Entries are written to a temporary file and renamed into place. Any problem with an entry
(missing, corrupt, stale, unreadable, invalid) is a silent miss.

Keys: `content_key([(name, text), ...])` hashes every file that makes up a policy (the main
file as ("", text), and, when policies can include others, each included file by its
resolved name), together with a fingerprint of the code that shapes the AST (grammar,
parser, lowering, nodes, Python and Lark versions), so a change to either is a new entry.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import os
import pickle
import re
import secrets
import stat
import sys
from decimal import Decimal
from pathlib import Path
from typing import Iterable

import attrs

FORMAT = b"policydsl-ast-cache 1\n"
MAX_ENTRY_BYTES = 50_000_000
_MEMORY: dict[tuple[str, str], object] = {}  # (key, source name) -> AST, this process
_MEMORY_LIMIT = 32


# ---- where, and whether it is safe -------------------------------------------------------


def directory() -> Path | None:
    """The cache directory, created if need be; None when disabled or not safe to use."""
    opened = _open_directory()
    if opened is None:
        return None
    path, handle = opened
    os.close(handle)
    return path


def _configured() -> Path | None:
    if os.environ.get("POLICYDSL_NO_CACHE", "").strip() not in ("", "0"):
        return None
    configured = os.environ.get("POLICYDSL_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "policydsl"


_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _open_directory() -> tuple[Path, int] | None:
    """(path, descriptor) of the cache directory, or None. The checks are made on the opened
    descriptor, and entries are opened relative to it, so there is no check-then-open race."""
    if os.open not in os.supports_dir_fd or os.rename not in os.supports_dir_fd:
        return None  # entries could only be opened by path: no cache rather than a race
    try:
        path = _configured()
        if path is None:
            return None
        try:
            handle = os.open(path, _DIRECTORY_FLAGS)
        except FileNotFoundError:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle = os.open(path, _DIRECTORY_FLAGS)
    except (OSError, RuntimeError, ValueError):  # a symlink (ELOOP), no home, etc.
        return None
    try:
        if _private_dir(os.fstat(handle)):
            return path, handle
    except OSError:
        pass
    os.close(handle)
    return None


def _private_dir(info: os.stat_result) -> bool:
    if not stat.S_ISDIR(info.st_mode):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _own_regular_file(info: os.stat_result) -> bool:
    """Ours, a plain file, and not writable by others (our entries are written 0600)."""
    if not stat.S_ISREG(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


# ---- keys ---------------------------------------------------------------------------------


@functools.cache
def code_fingerprint() -> str:
    """A hash of the whole package's code and data, file by file (relative path and bytes).

    Every folder counts, not a list of file names: a module moved, added or renamed changes
    the fingerprint, so no change of code can leave a stale AST in the cache.
    """
    return package_fingerprint(Path(__file__).resolve().parents[1])


def package_fingerprint(package: Path) -> str:
    """`code_fingerprint` of the package in folder `package`."""
    from policydsl import __version__

    digest = hashlib.sha256(FORMAT)
    digest.update(f"{sys.version}|{__version__}|{_lark_version()}".encode())
    for path in sorted(_package_files(package)):
        name = path.relative_to(package).as_posix().encode()
        try:
            data = path.read_bytes()
        except OSError:
            data = b"?"
        digest.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _package_files(package: Path):
    """The package's own files: Python modules, the grammar and its tables (not caches)."""
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if name.endswith((".py", ".lark", ".json")):
                yield Path(folder, name)


def _lark_version() -> str:
    # parser.py has imported Lark by the time a policy is loaded; importlib.metadata would
    # cost more than the whole warm load.
    return str(getattr(sys.modules.get("lark"), "__version__", "?"))


def content_key(parts: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of the code fingerprint and every (name, text) pair, unambiguously framed."""
    digest = hashlib.sha256(code_fingerprint().encode())
    for name, text in parts:
        for field in (name, text):
            data = field.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


# ---- policy ASTs --------------------------------------------------------------------------


def load_ast(source, includes: Iterable[tuple[str, str]] = ()):
    """The cached (policy file AST, lowering diagnostics) for `source`, or None on a miss.

    Spans in the result point at `source` itself, whatever name it was cached under.
    """
    if _configured_safely() is None:
        return None
    key = content_key([("", source.text), *includes])
    remembered = _MEMORY.get((key, source.name))
    if remembered is not None:
        return remembered[0], list(remembered[1])  # callers may extend the diagnostics
    opened = _open_directory()
    if opened is None:
        return None
    _, folder = opened
    try:
        data = _read_private(folder, f"ast-{key}.pickle")
        if data is None or not data.startswith(FORMAT):
            return None
        value = _Unpickler(io.BytesIO(data[len(FORMAT) :]), source).load()
        if not validate(value, source):
            return None
    except Exception:  # noqa: BLE001 - a bad entry is a miss, never an error
        return None
    finally:
        os.close(folder)
    _remember((key, source.name), value)
    return value[0], list(value[1])


def _configured_safely() -> Path | None:
    try:
        return _configured()
    except (OSError, RuntimeError, ValueError):
        return None


def store_ast(source, value, includes: Iterable[tuple[str, str]] = ()) -> None:
    """Remember (policy file AST, lowering diagnostics) for `source`; failures are ignored."""
    opened = _open_directory()
    if opened is None:
        return
    _, folder = opened
    try:
        key = content_key([("", source.text), *includes])
        value = (value[0], list(value[1]))
        _remember((key, source.name), value)
        buffer = io.BytesIO()
        buffer.write(FORMAT)
        _Pickler(buffer, source).dump(value)
        _write_entry(folder, f"ast-{key}.pickle", buffer.getvalue())
    except Exception:  # noqa: BLE001 - too deep to pickle, disk full, read-only: just no cache
        return
    finally:
        os.close(folder)


def _remember(key: tuple[str, str], value) -> None:
    if len(_MEMORY) >= _MEMORY_LIMIT:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = value


def clear_memory() -> None:
    """Forget the ASTs kept in this process (tests, benchmarks)."""
    _MEMORY.clear()


def _read_private(folder: int, name: str) -> bytes | None:
    """The bytes of entry `name` in the directory open as `folder`, if it is a regular file of
    ours that nobody else can write (checked on the opened descriptor), else None."""
    try:
        handle = os.open(name, _FILE_FLAGS, dir_fd=folder)
    except OSError:
        return None
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not _own_regular_file(info) or info.st_size > MAX_ENTRY_BYTES:
            return None
        data = stream.read(MAX_ENTRY_BYTES + 1)
    return data if len(data) <= MAX_ENTRY_BYTES else None


def _write_atomically(file: Path, data: bytes) -> None:
    """Write entry `file` (a path in the cache directory) atomically, by path. The package
    writes through `_write_entry` on the checked descriptor; this is for tools that rewrite an
    entry (the issue-9 reproduction of a tampered entry uses it)."""
    folder = os.open(file.parent, _DIRECTORY_FLAGS)
    try:
        _write_entry(folder, file.name, data)
    finally:
        os.close(folder)


def _write_entry(folder: int, name: str, data: bytes) -> None:
    temporary = f".tmp-{secrets.token_hex(8)}.pickle"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    handle = os.open(temporary, flags, 0o600, dir_fd=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except OSError:
            pass
        raise


class _Pickler(pickle.Pickler):
    """Leaves the policy's own text out of the entry: spans are re-pointed at it on load."""

    def __init__(self, stream, source):
        super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
        self._source = source

    def persistent_id(self, obj):
        return "source" if obj is self._source else None


class _Unpickler(pickle.Unpickler):
    """Builds only policydsl's AST and a few value types; anything else is refused."""

    def __init__(self, stream, source):
        super().__init__(stream)
        self._source = source

    def persistent_load(self, pid):
        if pid == "source":
            return self._source
        raise pickle.UnpicklingError("unknown reference")

    def find_class(self, module, name):
        allowed = _allowed_classes()
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a policydsl cache entry")


@functools.cache
def _allowed_classes() -> dict[tuple[str, str], type]:
    import datetime
    from decimal import Decimal

    import attrs

    from policydsl.diagnostics import model as diagnostics
    from policydsl.syntax import nodes
    from policydsl.syntax import source

    allowed: dict[tuple[str, str], type] = {
        ("decimal", "Decimal"): Decimal,
        ("datetime", "date"): datetime.date,
        ("policydsl.syntax.source", "Span"): source.Span,
        ("policydsl.syntax.source", "SourceFile"): source.SourceFile,
        ("policydsl.diagnostics.model", "Diagnostic"): diagnostics.Diagnostic,
        ("policydsl.diagnostics.model", "Severity"): diagnostics.Severity,
        ("policydsl.diagnostics.model", "Related"): diagnostics.Related,
    }
    for name, value in vars(nodes).items():
        if isinstance(value, type) and attrs.has(value) and value.__module__ == nodes.__name__:
            allowed[(nodes.__name__, name)] = value
    return allowed


# ---- what a loaded entry may hold ---------------------------------------------------------

# The strings that select behaviour, and the only values the lowering gives them (from the
# grammar: lower.py's literal units, operators, aggregates, annotations, `floor`/`ceiling`).
_CHOICES: dict[tuple[str, str], frozenset] = {
    ("Literal", "unit"): frozenset({"number", "int", "money", "months", "ratio", "date", "text", "bool"}),
    ("Unary", "op"): frozenset({"-", "not"}),
    ("Binary", "op"): frozenset({"+", "-", "*", "/", "and", "or", "=", "!=", "<", "<=", ">", ">="}),
    ("Aggregate", "kind"): frozenset({"sum", "count", "any", "all"}),
    ("Annotation", "kind"): frozenset({"because", "cite", "reason"}),
    ("ParamDef", "bound"): frozenset({"floor", "ceiling"}),
    ("Field", "limits"): frozenset({">=", ">", "<=", "<"}),
}
# Fields that hold text the policy wrote (string literals, titles): data, any characters.
_TEXT_FIELDS = frozenset(
    {
        ("Annotation", "text"), ("Literal", "value"), ("Document", "title"), ("Document", "number"),
        ("Header", "title"), ("Header", "version"), ("Header", "region"), ("Header", "region_name"), ("Header", "extends"),
    }
)
# Every other string field is a name, as the grammar's NAME reads it.
_NAME = re.compile(r"[^\W\d]\w*\Z")
_CODE = re.compile(r"[A-Z][0-9]{3}\Z")
_LITERAL_TYPES = {"number": Decimal, "money": Decimal, "ratio": Decimal, "int": int, "months": int, "date": datetime.date, "text": str, "bool": bool}
_MAX_NODES = 2_000_000


def validate(value, source) -> bool:
    """True when a loaded entry is (PolicyFile, [Diagnostic, ...]) holding only what lowering
    `source` could have produced (see the module docstring); never raises for any input."""
    try:
        return _validate(value, source)
    except Exception:  # noqa: BLE001 - anything odd is simply not valid
        return False


def _validate(value, source) -> bool:
    from policydsl.diagnostics import model as diagnostics
    from policydsl.syntax import nodes
    from policydsl.runtime import numbers
    from policydsl.syntax.source import Span

    if not (type(value) is tuple and len(value) == 2 and type(value[0]) is nodes.PolicyFile and type(value[1]) is list):
        return False
    node_classes = {cls for (module, _), cls in _allowed_classes().items() if module == nodes.__name__}
    length = len(source.text)
    stack: list = [(value[0], None)]
    for item in value[1]:
        if type(item) is not diagnostics.Diagnostic or not isinstance(item.code, str) or not _CODE.match(item.code):
            return False
        stack.append((item, "diagnostic"))
    seen = 0
    while stack:
        item, rule = stack.pop()
        seen += 1
        if seen > _MAX_NODES:
            return False
        kind = type(item)
        if item is None or kind is bool or kind is datetime.date:
            continue
        if kind is int:
            if abs(item) > numbers.INT_LIMIT:
                return False
            continue
        if kind is Decimal:
            if item != numbers.UNLIMITED and numbers.problem(item) is not None:
                return False
            continue
        if kind is str:
            if rule == "diagnostic" or rule == "text":
                continue
            if isinstance(rule, frozenset):
                if item not in rule:
                    return False
                continue
            if not _NAME.match(item):
                return False
            continue
        if kind is tuple:
            stack.extend((element, rule) for element in item)
            continue
        if kind is Span:
            if item.source is not source or not all(type(x) is int for x in (item.line, item.column, item.end_line, item.end_column, item.start, item.end)):
                return False
            if not 0 <= item.start <= item.end <= length:
                return False
            continue
        if kind is diagnostics.Severity:
            continue
        if kind is diagnostics.Diagnostic or kind is diagnostics.Related:
            stack.extend((getattr(item, f.name), "diagnostic") for f in attrs.fields(kind))
            continue
        if kind not in node_classes:
            return False
        name = kind.__name__
        if kind is nodes.Literal and type(item.value) is not _LITERAL_TYPES.get(item.unit):
            return False
        if kind is nodes.Literal and item.unit == "money" and abs(item.value) >= numbers.MONEY_LIMIT and item.value != numbers.UNLIMITED:
            return False
        for field in attrs.fields(kind):
            key = (name, field.name)
            stack.append((getattr(item, field.name), _CHOICES.get(key) or ("text" if key in _TEXT_FIELDS else None)))
    return True
