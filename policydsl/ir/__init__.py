"""Stage 4: checked policy -> IR, the typed, resolved program per time segment that every
backend reads. `nodes` defines it, `build.from_checked` makes it, `dump.render` prints it
(`policydsl show --ir`).
"""
