"""Rules of the test suite itself: a missing system tool or optional package skips
locally, saying why, and fails where XSTORE_REQUIRE_TOOLS=1 (as .ci/run sets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REQUIRE_VARIABLE, require_module, require_tool


def test_a_missing_tool_or_package_skips_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-tool-xyz is not installed"):
        require_tool("no-such-tool-xyz")
    with pytest.raises(pytest.skip.Exception, match='pip install "xstore\\[plot\\]"'):
        require_module("no_such_package_xyz", "plot")


def test_ci_requires_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_VARIABLE, "1")
    with pytest.raises(pytest.fail.Exception, match="XSTORE_REQUIRE_TOOLS=1 requires it"):
        require_tool("no-such-tool-xyz")
    with pytest.raises(pytest.fail.Exception, match="no_such_package_xyz"):
        require_module("no_such_package_xyz", "plot")
    assert require_tool("python3") and require_module("numpy", "test")


def test_ci_sets_the_variable() -> None:
    script = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert f"export {REQUIRE_VARIABLE}=1" in script
