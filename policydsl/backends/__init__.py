"""Stage 5: what reads the IR and runs claims. `python` generates and compiles Python per
segment (with a line table back to IR nodes), `interpreter` is the reference interpreter over
the IR (the oracle of differential tests, and the checker's constant evaluator), `facts` reads
claim facts into input values by the IR's schema.
"""
