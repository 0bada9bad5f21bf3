"""Stage 1: policy text -> AST. The only code that imports Lark.

`parser` (shipped LALR tables, `tables` writes them) gives a parse tree, `limits` bounds its size
and depth, `lower` turns it into the frozen nodes of `nodes` (spans, stable ids), and `printer`
writes nodes back as policy text. `source` holds files and spans.
"""
