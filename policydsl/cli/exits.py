"""The exit codes of the `policydsl` command, defined once.

0 ok; 1 findings (a policy has errors, or a claim could not be decided, or a batch worker
process was lost); 2 usage (bad arguments, unreadable files, an output that cannot be
created or is the input); 3 unknown (`verify` only: no property failed, some could not be
decided); 70 internal error (a bug in policydsl: please report it); 74 the output could not
be written (disk full, an I/O error, standard output closed): the message says what the
output holds; 130 interrupted (Ctrl-C); 141 standard output was a pipe that the reader
closed (as a program killed by SIGPIPE).
"""

OK = 0
FINDINGS = 1
USAGE = 2
INTERNAL = 70
OUTPUT = 74
INTERRUPTED = 130
BROKEN_PIPE = 141
UNKNOWN = 3  # `policydsl verify`: none failed, some unknown (the time limit, or beyond the encoding)



def of_policy_error(error) -> int:
    """A policy that does not load: USAGE when only its file (or a file it extends) could not be
    read (L500 missing or unreadable, L505 not a regular file), as for any input file; else
    FINDINGS (the policy has errors)."""
    codes = {d.code for d in getattr(error, "diagnostics", ())}
    return USAGE if codes and codes <= {"L500", "L505"} else FINDINGS


# What `policydsl --help` says of them.
HELP = f"Exit codes: {OK} ok, {FINDINGS} findings (policy errors or undecided claims), {USAGE} usage, {UNKNOWN} unknown (verify: none failed, some undecided), {INTERNAL} internal error."
