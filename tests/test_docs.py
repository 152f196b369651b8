"""Documentation and layering: every KPI is documented in the app's KPI library, and the core never reaches into the UI.

Like datasette's test_docs, a KPI added to the catalog without a description or formula, or one
the library page does not show, fails here. The layering tests parse imports with ``ast`` rather
than grep, so a mention of streamlit in a comment or string does not count.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kpi.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "pages"


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a Python file imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args \
                and isinstance(node.args[0], ast.Constant):
            found.add(str(node.args[0].value).split(".")[0])
    return found


def test_every_catalog_kpi_has_a_description_and_a_formula():
    problems = []
    for k in CATALOG.values():
        if len(k.description.strip()) < 40:
            problems.append(f"{k.id}: the description is missing or too short to explain the KPI")
        if len(k.formula.strip()) < 10:
            problems.append(f"{k.id}: the formula in words is missing")
        if not k.needs:
            problems.append(f"{k.id}: does not say what data it needs")
    assert problems == []


def test_every_catalog_kpi_appears_in_the_kpi_library_page_with_its_definition():
    if not (PAGES / "library.py").exists():
        pytest.skip("pages/library.py is not written yet")
    from streamlit.testing.v1 import AppTest

    from kpi.workspaces import new_workspace_id, open_workspace

    wid = new_workspace_id()
    open_workspace(wid).close()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["workspace_id"] = wid
    at.session_state["welcome_done"] = True
    at.run()
    at.switch_page("pages/library.py").run()
    assert not at.exception
    shown = "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander])
    missing = []
    for k in CATALOG.values():
        for what, text in (("name", k.name), ("description", k.description), ("formula", k.formula)):
            if text not in shown:
                missing.append(f"{k.id}: its {what} is not on the KPI library page")
        if f"`{k.id}`" not in shown:
            missing.append(f"{k.id}: its id is not on the KPI library page")
    assert missing == []


def test_nothing_in_the_core_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "kpi").rglob("*.py"))
                 if "streamlit" in imported_modules(p)]
    assert offenders == [], "kpi/ is the core shared with the CLI: it must not import streamlit"


def test_no_page_talks_to_duckdb_directly():
    offenders = [str(p.relative_to(ROOT)) for p in sorted(PAGES.glob("*.py")) if "duckdb" in imported_modules(p)]
    assert offenders == [], "pages read widgets, call kpi/ and draw: queries belong in kpi/"


def test_the_import_parser_sees_every_form_of_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os.path\nfrom streamlit import x\n"
                      "def f():\n    import duckdb as d\n    return __import__('json')\n"
                      "# import pandas\ntext = 'import altair'\n", encoding="utf-8")
    assert imported_modules(sample) == {"os", "streamlit", "duckdb", "json"}


def test_every_limit_on_a_file_is_documented_with_its_default():
    """Each limit of kpi/limits.py has a row in the README's table: its setting and its default."""
    from kpi.limits import LIMITS
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip(" `")
            for line in readme.splitlines() if line.strip().startswith("| `KPI_EXPLORER_")}
    assert {limit.env: rows.get(limit.env) for limit in LIMITS} == {limit.env: limit.default for limit in LIMITS}


def test_every_setting_the_code_reads_is_in_the_readme():
    """A server setting (``KPI_EXPLORER_*``) nobody can find is a setting nobody can use."""
    import re
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sources = [*ROOT.joinpath("kpi").rglob("*.py"), *ROOT.joinpath("ui").glob("*.py"), *PAGES.glob("*.py"),
               ROOT / "app.py"]
    read = {name for f in sources for name in re.findall(r"KPI_EXPLORER_[A-Z_]+", f.read_text(encoding="utf-8"))}
    assert read and not sorted(n for n in read if n not in readme)
