"""OMEGA's data read as OMEGA reads it: a listing as data (what was asked, its rows streamed from
one read-only snapshot), the project-scoped queries of lessons, outcomes and tasks with OMEGA
v1.3.0's semantics, where a file stands (`status`), what the agent has learned per project
(`learning`, grouped counts only), what it sees in a conversation (`context`), every project with
its folder (`projects`), and the two writers here: a project's rows renamed and merged as OMEGA
keeps them (`merge`, `rename`), and what OMEGA never reads again deleted in short batches
(`retention`'s rules, `prune`). It may import `ground`, `chain` and `verify`.
"""

MODULES = ("listing", "queries", "status", "learning", "context", "projects", "merge", "rename", "retention", "prune")
