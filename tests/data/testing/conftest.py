# The tests files here fail on purpose (golden reports in tests/test_testing.py): the
# policydsl pytest plugin must not collect them when pytest walks the tests folder.
collect_ignore_glob = ["*.tests.json"]
