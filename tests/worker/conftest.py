"""Worker test helpers (the tiny model fixture lives in tests/conftest.py, shared with tests/perf)."""

from __future__ import annotations

from tests.conftest import require_module

__all__ = ["require_module"]
