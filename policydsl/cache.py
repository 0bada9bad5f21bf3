"""A load cache on disk: Lark's parser tables, and each policy's lowered AST.

Why: building the LALR tables costs ~75 ms per process, and parsing + lowering the example
policy ~10 ms more; analysts and batch workers load the same policies again and again
(issue 5). Checking and compiling are cheap and always run, so a cached AST is checked
exactly like a fresh one.

Where: `$POLICYDSL_CACHE_DIR`, else `$XDG_CACHE_HOME/policydsl`, else `~/.cache/policydsl`.
`POLICYDSL_NO_CACHE=1` turns the cache off.

Safety: the directory is created private (0700) and used only when it is a real directory
owned by the current user that nobody else can write to, so only that user can have put a
file there. An AST entry is read only if it is a regular file we own, and is unpickled with
an allow-list of classes (policydsl's AST nodes, spans, diagnostics, Decimal, date), so even
a tampered entry cannot run code. Entries are written to a temporary file and renamed into
place. Any problem with an entry (missing, corrupt, stale, unreadable) is a silent miss and
the policy is loaded normally.

Keys: `content_key([(name, text), ...])` hashes every file that makes up a policy (the main
file as ("", text), and, when policies can include others, each included file by its
resolved name), together with a fingerprint of the code that shapes the AST (grammar,
parser, lowering, nodes, Python and Lark versions), so a change to either is a new entry.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path
from typing import Iterable

FORMAT = b"policydsl-ast-cache 1\n"
MAX_ENTRY_BYTES = 50_000_000
_MEMORY: dict[tuple[str, str], object] = {}  # (key, source name) -> AST, this process
_MEMORY_LIMIT = 32


# ---- where, and whether it is safe -------------------------------------------------------


def directory() -> Path | None:
    """The cache directory, created if need be; None when disabled or not safe to use."""
    if os.environ.get("POLICYDSL_NO_CACHE", "").strip() not in ("", "0"):
        return None
    try:
        configured = os.environ.get("POLICYDSL_CACHE_DIR")
        if configured:
            path = Path(configured).expanduser()
        else:
            base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            path = Path(base).expanduser() / "policydsl"
        if not path.is_dir():
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path if _private_dir(path) else None
    except (OSError, RuntimeError, ValueError):  # Path.home() fails without a home, etc.
        return None


def _private_dir(path: Path) -> bool:
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):  # a symlink is refused: it could point anywhere
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _own_regular_file(info: os.stat_result, private: bool = True) -> bool:
    """Ours and a plain file; `private`: not writable by others either (our entries are
    written 0600; Lark writes its file with the umask, inside our 0700 directory)."""
    if not stat.S_ISREG(info.st_mode) or (private and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


# ---- keys ---------------------------------------------------------------------------------


@functools.cache
def code_fingerprint() -> str:
    """A hash of everything besides the policy text that decides what the AST looks like."""
    from . import __version__

    digest = hashlib.sha256(FORMAT)
    digest.update(f"{sys.version}|{__version__}|{_lark_version()}".encode())
    here = Path(__file__).resolve().parent
    for name in ("policy.lark", "parser.py", "lower.py", "nodes.py", "source.py", "diagnostics.py", "types.py", "limits.py"):
        try:
            digest.update((here / name).read_bytes())
        except OSError:
            digest.update(b"?" + name.encode())
    return digest.hexdigest()


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


# ---- Lark's tables ------------------------------------------------------------------------


def lark_cache_file(grammar: str, options: str = "") -> str | bool:
    """A path for Lark's own `cache=` option (it keys the file by grammar, options and Lark
    version inside), or False when the cache is off or the path is not safe to read."""
    path = directory()
    if path is None:
        return False
    name = hashlib.sha256(f"{grammar}|{options}|{_lark_version()}|{sys.version_info[:2]}".encode()).hexdigest()[:32]
    file = path / f"lark-{name}.pickle"
    try:
        info = os.lstat(file)
    except FileNotFoundError:
        return str(file)
    except OSError:
        return False
    return str(file) if _own_regular_file(info, private=False) else False


# ---- policy ASTs --------------------------------------------------------------------------


def load_ast(source, includes: Iterable[tuple[str, str]] = ()):
    """The cached (policy file AST, lowering diagnostics) for `source`, or None on a miss.

    Spans in the result point at `source` itself, whatever name it was cached under.
    """
    path = directory()
    if path is None:
        return None
    key = content_key([("", source.text), *includes])
    remembered = _MEMORY.get((key, source.name))
    if remembered is not None:
        return remembered[0], list(remembered[1])  # callers may extend the diagnostics
    try:
        data = _read_private(path / f"ast-{key}.pickle")
        if data is None or not data.startswith(FORMAT):
            return None
        value = _Unpickler(io.BytesIO(data[len(FORMAT) :]), source).load()
    except Exception:  # noqa: BLE001 - a bad entry is a miss, never an error
        return None
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list)):
        return None
    _remember((key, source.name), value)
    return value[0], list(value[1])


def store_ast(source, value, includes: Iterable[tuple[str, str]] = ()) -> None:
    """Remember (policy file AST, lowering diagnostics) for `source`; failures are ignored."""
    path = directory()
    if path is None:
        return
    key = content_key([("", source.text), *includes])
    value = (value[0], list(value[1]))
    _remember((key, source.name), value)
    try:
        buffer = io.BytesIO()
        buffer.write(FORMAT)
        _Pickler(buffer, source).dump(value)
        _write_atomically(path / f"ast-{key}.pickle", buffer.getvalue())
    except Exception:  # noqa: BLE001 - too deep to pickle, disk full, read-only: just no cache
        return


def _remember(key: tuple[str, str], value) -> None:
    if len(_MEMORY) >= _MEMORY_LIMIT:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = value


def clear_memory() -> None:
    """Forget the ASTs kept in this process (tests, benchmarks)."""
    _MEMORY.clear()


def _read_private(file: Path) -> bytes | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(file, flags)
    except OSError:
        return None
    with os.fdopen(handle, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not _own_regular_file(info) or info.st_size > MAX_ENTRY_BYTES:
            return None
        return stream.read(MAX_ENTRY_BYTES + 1)


def _write_atomically(file: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".pickle")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, file)
    except BaseException:
        try:
            os.unlink(temporary)
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

    from . import diagnostics, nodes, source

    allowed: dict[tuple[str, str], type] = {
        ("decimal", "Decimal"): Decimal,
        ("datetime", "date"): datetime.date,
        ("policydsl.source", "Span"): source.Span,
        ("policydsl.source", "SourceFile"): source.SourceFile,
        ("policydsl.diagnostics", "Diagnostic"): diagnostics.Diagnostic,
        ("policydsl.diagnostics", "Severity"): diagnostics.Severity,
    }
    for name, value in vars(nodes).items():
        if isinstance(value, type) and attrs.has(value) and value.__module__ == nodes.__name__:
            allowed[(nodes.__name__, name)] = value
    return allowed
