"""The checks of `omega-db verify`: their vocabulary (ok, warning, fail), the structure checks
(history, half-applied, schema), the data checks (integrity, foreign keys, FTS5, text, OMEGA's data
promises), and the run that puts them in order. Read-only. It may import `ground` and `chain`.
"""

MODULES = ("checks", "structure_checks", "data_checks", "run")
