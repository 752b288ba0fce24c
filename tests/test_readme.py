"""The README's own links resolve, and what it says about the C locale is what happens."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests import helpers

README = Path(__file__).resolve().parent.parent / "README.md"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _prose(text: str) -> str:
    """The README without its fenced code blocks (a '# comment' there is no heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def test_every_intra_readme_link_names_a_heading() -> None:
    prose = _prose(README.read_text(encoding="utf-8"))
    anchors = {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", prose, flags=re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", prose)
    assert links, "the README links nothing within itself: this test checks nothing"
    assert [link for link in links if link not in anchors] == []


def test_the_slug_of_a_missing_heading_is_caught() -> None:
    assert _slug("### When OMEGA stopped half-way: `migrate --repair`".lstrip("# ")) == (
        "when-omega-stopped-half-way-migrate---repair")


def _run(path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    base = {"PATH": os.environ["PATH"], "HOME": str(path.parent)}
    return subprocess.run([sys.executable, "-m", "omega_db", "lessons", str(path), *args], env={**base, **env},
                          capture_output=True, timeout=60)


def test_the_c_locale_writes_utf8_and_only_a_real_ascii_output_escapes(db_path: Path) -> None:
    helpers.build(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO lessons (sender_id, domain, rule, project) VALUES ('s', 'd', 'café', 'p')")
    for fmt in ("table", "csv", "json"):
        done = _run(db_path, "-f", fmt, LC_ALL="C", LANG="C")
        assert done.returncode == 0 and "café".encode() in done.stdout, (fmt, done)
    ascii_env = {"LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    table = _run(db_path, **ascii_env)
    assert table.returncode == 0 and b"caf\\xe9" in table.stdout
    csv = _run(db_path, "-f", "csv", **ascii_env)
    assert csv.returncode == 1 and csv.stderr.count(b"\n") == 1
    json_out = _run(db_path, "-f", "json", **ascii_env)
    assert json_out.returncode == 0 and "café".encode() in json_out.stdout
