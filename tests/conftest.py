"""Shared test setup: every test gets its own data folder, so no test sees another's workspaces."""
import pytest


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_EXPLORER_HOME", str(tmp_path / "kpi_home"))
