"""The language server: lsp/analysis.py answers an editor's questions from the checker,
lsp/server.py speaks the protocol (pygls). Started by `policydsl lsp` (cli/lsp.py)."""
