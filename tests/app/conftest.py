"""Fixtures of the page tests (helpers live in app_helpers.py)."""
from pathlib import Path

import pytest

from app_helpers import sample_file


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return sample_file(tmp_path_factory)
