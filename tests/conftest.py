"""Shared test setup: every test gets its own data folder, so no test sees another's workspaces."""
import pytest


@pytest.fixture(scope="session")
def _template_cache(tmp_path_factory):
    # The prepared sample workspace is read-only input: build it once per test run, not per test.
    return tmp_path_factory.mktemp("kpi_cache")


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path, monkeypatch, _template_cache):
    monkeypatch.setenv("KPI_EXPLORER_HOME", str(tmp_path / "kpi_home"))
    monkeypatch.setenv("KPI_EXPLORER_CACHE", str(_template_cache))
