"""`policydsl serve`: the policies of a folder as an HTTP service (JSON).

schema.py (wire types, OpenAPI, input JSON Schema) -> catalog.py (the loaded policies, hot
reload) -> log.py (decision log) -> app.py (the ASGI app). Needs the `serve` extra.
"""
