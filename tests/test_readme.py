"""The README's commands do what it says: its set-up, followed literally in a fresh copy of the
repository, and each `$ policydsl ...` example, whose output it shows."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT, example_expected

README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    """The commands of the Set-up section's shell block, comments left out."""
    section = README[README.index("## Set-up") :]
    block = section[section.index("```sh\n") + len("```sh\n") : section.index("```\n", section.index("```sh\n") + 6)]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_the_readmes_second_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert setup_commands()[1] == ci[-1]


def _copy_of_the_repository(target):
    """The working tree's files as a fresh clone would have them (tracked and new files, not
    what .gitignore leaves out: no .venv, no caches, no build)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True, timeout=60,
        ).stdout.decode().split("\0")
        for name in filter(None, listed):
            source = ROOT / name
            if source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name, follow_symlinks=False)
            elif source.is_symlink():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).symlink_to(source.readlink())
    else:
        ignore = shutil.ignore_patterns(".venv", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache")
        shutil.copytree(ROOT, target, dirs_exist_ok=True, symlinks=True, ignore=ignore)


def test_the_first_set_up_command_works_as_written_in_a_fresh_copy(tmp_path):
    """`python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/policydsl eval ...`, run by
    a shell in a copy of the repository: it prints one decision per example claim, each with the
    outputs `policies/example/expected.jsonl` says it should show."""
    if shutil.which("python3") is None:
        pytest.skip("the README's commands call python3")
    copy = tmp_path / "policydsl"
    copy.mkdir()
    _copy_of_the_repository(copy)
    first = setup_commands()[0]
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/policydsl eval ")
    done = subprocess.run(["bash", "-c", first], cwd=copy, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    expected = example_expected()
    assert len(records) == len(expected) == 14
    for record, wanted in zip(records, expected):
        assert {key: record[key] for key in wanted} == wanted
    installed = copy / ".venv" / "lib"
    assert any(installed.glob("python3*/site-packages/policydsl/__init__.py"))  # installed, not run from the copy
    # the light install (no numpy, no pyarrow) runs batch on JSON lines with the row engine
    batch = subprocess.run(
        [".venv/bin/policydsl", "batch", "policies/example/resident-2025.policy", "policies/example/claims.jsonl", "-o", "out.jsonl", "--jobs", "1"],
        cwd=copy, capture_output=True, text=True, timeout=300,
    )
    assert batch.returncode == 0, batch.stderr
    assert (copy / "out.jsonl").read_text(encoding="utf-8") == done.stdout
    assert not any(installed.glob("python3*/site-packages/numpy"))


def shown_examples() -> list[tuple[str, str]]:
    """(command, the output the README shows) for each ``$ policydsl ...`` example block."""
    found = []
    for block in re.findall(r"```\n(\$ policydsl [^\n]*\n.*?)```", README, flags=re.S):
        command, _, output = block.partition("\n")
        found.append((command[2:], output))
    return found


@pytest.mark.parametrize("command,output", shown_examples(), ids=[command for command, _ in shown_examples()])
def test_each_shown_example_prints_what_the_readme_shows(command, output):
    argv = shlex.split(command)
    done = subprocess.run([sys.executable, "-m", "policydsl", *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout + done.stderr == output


def test_there_is_a_shown_example():
    assert [command for command, _ in shown_examples()] == ["policydsl check tests/data/broken/undefined_name.policy"]


def test_the_tests_file_example_is_one_this_repositorys_suite_accepts(tmp_path):
    """The README's `X.tests.json` example reads as a tests file, and every case has the `note`
    that tests/test_regions.py requires of a bundled policy's cases."""
    from policydsl.tools import testing

    section = README[README.index("### Tests beside each policy") :]
    example = section[section.index("```json\n") + len("```json\n") : section.index("```\n", section.index("```json\n"))]
    path = tmp_path / "x.tests.json"
    path.write_text(example, encoding="utf-8")
    cases = testing.read_tests(path).cases
    assert len(cases) == 2
    assert all(case["note"] for case in json.loads(example)["tests"])
