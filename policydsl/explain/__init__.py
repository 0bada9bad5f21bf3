"""Stage 6: a traced run -> explanation data (`build`) -> text in English or Chinese (`render`).
"""
