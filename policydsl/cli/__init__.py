"""The `policydsl` command: one module per command. The only code that parses arguments,
prints or exits (`exits` defines the exit codes).
"""
