"""OMEGA's data read as OMEGA reads it: a listing as data (what was asked, its rows streamed from
one read-only snapshot), the project-scoped queries of lessons, outcomes and tasks with OMEGA
v1.3.0's semantics, where a file stands (`status`), and what the agent has learned per project
(`learning`, grouped counts only). It may import `ground`, `chain` and
`verify`.
"""

MODULES = ("listing", "queries", "status", "learning", "context")
