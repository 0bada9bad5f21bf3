"""What running a policy needs: `helpers` (called by generated code: dates, tiers, division,
bounds), `numbers` (the exact decimal contexts and bounds, owned here, never the caller's),
`values` (value <-> text and JSON) and `trace` (typed trace events).
"""
