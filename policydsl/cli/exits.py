"""The exit codes of the `policydsl` command, defined once.

0 ok; 1 findings (a policy has errors, or a claim could not be decided, or a batch worker
process was lost); 2 usage (bad arguments, unreadable files, an output that cannot be
created or is the input); 70 internal error (a bug in policydsl: please report it); 74 the
output could not be written (disk full, an I/O error, standard output closed): the message
says what the output holds; 130 interrupted (Ctrl-C); 141 standard output was a pipe that
the reader closed (as a program killed by SIGPIPE).
"""

OK = 0
FINDINGS = 1
USAGE = 2
INTERNAL = 70
OUTPUT = 74
INTERRUPTED = 130
BROKEN_PIPE = 141

# What `policydsl --help` says of them.
HELP = f"Exit codes: {OK} ok, {FINDINGS} findings (policy errors or undecided claims), {USAGE} usage, {INTERNAL} internal error."
