"""Tools around the language, as library code (nothing here prints or exits): `decide`
(claim -> record), `batch` (many claims, many processes), `claims_io` (JSON lines, CSV,
Parquet), `formatter`, `show`, `testing` (tests beside policies, coverage; `pytest_plugin`),
`impact` (what a policy change does to claims).
"""
