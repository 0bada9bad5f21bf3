"""Stage 2: files -> one effective policy. `files` reads policy files (regular files only),
`cache` keeps lowered ASTs on disk, `inherit` resolves `extends` with the provenance of each
definition, `regions` indexes a policies folder by region and date, and `registry` chooses the
policy for a region and day.
"""
