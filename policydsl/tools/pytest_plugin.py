"""A pytest plugin: every `X.tests.json` beside a policy `X.policy` is collected as a file of
tests (a `*.tests.json` without its policy belongs to someone else, and is left alone).

Registered through the `pytest11` entry point, so `pytest` runs a region's tests with no
test code written for them: one item per test, named `<file>::<test name>`, and a failing
item reports exactly what `policydsl test` prints (naming the policy: file, id, version,
digest). Each item records the policy that decided it as user properties `policy_id`,
`policy_version` and `policy_digest` (so `--junitxml` reports carry them too).
`-p no:policydsl` turns it off.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policydsl.tools import testing

_POLICIES = pytest.StashKey[dict]()


def pytest_collect_file(file_path, parent):
    """`X.tests.json` is a policydsl tests file when `X.policy` is beside it: another project's
    `api.tests.json` (with no `api.policy`) is not collected, whatever it holds."""
    if file_path.name.endswith(testing.SUFFIX) and testing.policy_path_for(Path(file_path)).is_file():
        return PolicyTestsFile.from_parent(parent, path=file_path)
    return None


class PolicyTestsFile(pytest.File):
    """A `X.tests.json` file: one item per test in it."""

    def collect(self):
        try:
            test_file = testing.read_tests(_shown(self.path))
        except testing.TestFileError as error:
            raise self.CollectError(str(error)) from None
        for case in test_file.cases:
            yield PolicyTestItem.from_parent(self, name=case.name, test_file=test_file, case=case)

    def policy(self, test_file: testing.TestFile):
        """The policy beside the file, loaded once per session (or the error it raised)."""
        cache = self.config.stash.setdefault(_POLICIES, {})
        key = str(test_file.policy_path)
        if key not in cache:
            try:
                cache[key] = testing.load_policy(test_file)
            except testing.PolicyError as error:
                cache[key] = error
        return cache[key]


def _shown(path: Path) -> Path:
    """The path relative to the working directory, as `policydsl test` would print it."""
    try:
        return Path(os.path.relpath(path))
    except ValueError:  # another drive
        return path


class PolicyTestFailure(Exception):
    """A policy test failed; its report is the text `policydsl test` prints."""


class PolicyTestItem(pytest.Item):
    def __init__(self, *, test_file: testing.TestFile, case: testing.Case, **kwargs):
        super().__init__(**kwargs)
        self.test_file = test_file
        self.case = case
        # No fixtures, as a function item with none would say. Plugins that wrap every item's
        # run and read `item.funcargs` assume it exists (pytest-lsp 1.0 stops without running
        # the test when it does not): with it they see an item without their fixtures.
        self.funcargs: dict = {}

    def runtest(self):
        policy = self.parent.policy(self.test_file)
        if isinstance(policy, Exception):
            raise PolicyTestFailure(f"ERROR {self.test_file.path}\n  {self.test_file.policy_path}: the policy does not load:\n{policy}\n")
        found = policy.provenance
        self.user_properties += [("policy_id", found.id), ("policy_version", found.version or ""), ("policy_digest", found.digest)]
        result = testing.run_case(policy, self.test_file, self.case)
        if not result.passed:
            raise PolicyTestFailure(testing.failure_report(result))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, PolicyTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.test_file.path.name}::{self.case.name}"
