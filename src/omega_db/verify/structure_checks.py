"""The checks of the file's structure: the recorded history, half-applied migrations, the schema."""

from __future__ import annotations

from omega_db.chain import compare, halfapplied, schema
from omega_db.chain.compare import Change, Part
from omega_db.verify.checks import FAIL, OK, WARNING, Context, Severity, Verdict, named

# Parts whose absence is a failure even when newer migrations are recorded.
STRUCTURAL = (Part.table, Part.column, Part.index, Part.trigger, Part.shadow)


@named("history")
def check_history(ctx: Context) -> Verdict:
    """Known migrations recorded in order, no gaps, no unknown names among the known ones."""
    plan = ctx.plan
    if not plan.recorded:
        return OK, "no migration recorded yet"
    last_known = plan.known[-1].name[:3] if plan.known else ""
    strays = [n for n in plan.newer if n[:3] <= last_known]
    gaps = [m.name for m in plan.known if m.name not in plan.recorded and m in ctx.chain]
    problems = []
    if gaps:
        last = ctx.chain[-1].name
        problems.append(f"records {last} but not {', '.join(gaps)}: the history has a gap")
    if strays:
        problems.append(f"records {', '.join(strays)}, which no omega-db or later OMEGA migration is")
    if problems:
        return FAIL, "; ".join(problems)
    times = [(n, plan.recorded[n]) for n in sorted(plan.recorded) if plan.recorded[n] is not None]
    for (first, t1), (second, t2) in zip(times, times[1:], strict=False):
        if str(t2) < str(t1):
            detail = f"{second} is recorded as applied ({t2}) before {first} ({t1})"
            return WARNING, detail
    if plan.bootstrap:
        detail = "tracking predates this database: 001–003 count as applied (OMEGA's bootstrap rule)"
        return OK, detail
    detail = f"{len(plan.recorded) - len(plan.newer)} known migration(s) recorded in order"
    if plan.newer:
        detail += f"; also {', '.join(plan.newer)} from a newer OMEGA"
    return OK, detail


@named("pending")
def check_pending(ctx: Context) -> Verdict:
    """Pending migrations are a warning."""
    pending = [m.name for m in ctx.plan.all_pending if m not in ctx.chain]
    if ctx.plan.newer or not pending:
        return OK, "none pending"
    span = pending[0] if len(pending) == 1 else f"{pending[0]} … {pending[-1]}"
    detail = f"{len(pending)} pending ({span}); run `omega-db migrate`"
    return WARNING, detail


@named("half-applied")
def check_half_applied(ctx: Context) -> Verdict:
    """A migration partly applied but not recorded (OMEGA's runner stopped in the middle)."""
    half = halfapplied.detect(ctx.conn, ctx.plan)
    if half is None:
        return OK, "no half-applied migration"
    return FAIL, f"{half.describe()}; {half.remedy()}"


@named("effects")
def check_effects(ctx: Context) -> Verdict:
    """Every recorded migration's own effects are in the file (those later ones did not undo)."""
    real = compare.facts(ctx.actual)
    final = compare.facts(schema.expected(ctx.chain))
    failures: list[str] = []
    warnings: list[str] = []
    for i, migration in enumerate(ctx.chain):
        if migration.name not in ctx.plan.recorded:
            continue
        before, after = (compare.facts(schema.expected(ctx.chain[:n])) for n in (i, i + 1))
        missing = ((after - before) & final) - real
        if not missing:
            continue
        texts = sorted(f.text for f in missing)
        line = f"{migration.name} is recorded but {', '.join(texts)} {'is' if len(texts) == 1 else 'are'} missing"
        hard = any(f.part in STRUCTURAL for f in missing)
        (failures if hard or not ctx.newer else warnings).append(line)
    if failures:
        return FAIL, "; ".join(failures + warnings)
    if warnings:
        tail = f" (the newer {', '.join(ctx.plan.newer)} may explain it)"
        return WARNING, "; ".join(warnings) + tail
    return OK, f"the effects of {len(ctx.chain)} applied migration(s) are present"


def _severity(diff: compare.Difference, newer: bool) -> Severity:
    if diff.change is Change.missing and diff.part in STRUCTURAL:
        return FAIL
    if newer:
        return WARNING  # a later migration may add, drop or change it
    if diff.change is Change.extra and diff.part in (Part.table, Part.index, Part.trigger):
        return WARNING
    return FAIL


@named("schema")
def check_schema(ctx: Context) -> Verdict:
    """The structure equals what the applied migration files produce in memory."""
    expected = schema.expected(ctx.chain)
    diffs = compare.compare(expected, ctx.actual)
    if "_migrations" not in ctx.actual.tables and (not ctx.plan.recorded or ctx.plan.bootstrap):
        diffs = [d for d in diffs if d.table != "_migrations"]
    if not diffs:
        return OK, (f"{len(expected.tables)} tables, {len(expected.indexes)} indexes and "
                    f"{len(expected.triggers)} triggers as the migration files make them")
    rated = sorted(((_severity(d, ctx.newer), d.text) for d in diffs), key=lambda r: -r[0].rank)
    status = rated[0][0]
    mixed = {sev for sev, _ in rated} == {FAIL, WARNING}
    texts = [f"{text} [warning]" if mixed and sev == WARNING else text for sev, text in rated]
    if ctx.newer and any(sev == WARNING for sev, _ in rated):
        texts.append(f"the newer {', '.join(ctx.plan.newer)} may explain what is not a failure")
    return status, "; ".join(texts)
