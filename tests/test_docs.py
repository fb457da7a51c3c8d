"""The docs: they build with Sphinx, warnings as errors (an undocumented public name is
one), and every code block of the README and docs/ runs as written.

Each page's blocks run in order, as one script, in a fresh temporary directory:
```python blocks as they are, shell blocks command by command (``xstore ...`` through
``python -m xstore`` of the code under test).  Shell commands that set up a machine
(:data:`SETUP`) are not run here.  A block that cannot run here (it needs a server,
say) is marked with a ``<!-- no-run -->`` line right above it; a shell command of any
other kind fails the test, so nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from s3server import dead_endpoint_env

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
#: shell commands that prepare a machine; the test runs the code they would install
SETUP = ("pip install", "python -m pytest", "apt-get install", "nox ", "sphinx-build")
SHELLS = ("bash", "sh", "shell", "console")
FENCE = re.compile(
    r"^(?P<mark><!-- no-run -->\n)?```(?P<lang>[\w{}-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$",
    re.M | re.S,
)


def blocks(page: Path) -> list[tuple[str, str]]:
    """``(language, code)`` of every block of ``page`` that runs (no-run ones left out)."""
    found = []
    for match in FENCE.finditer(page.read_text(encoding="utf-8")):
        lang = match["lang"]
        if match["mark"] or (lang != "python" and lang not in SHELLS):
            continue
        found.append((lang, match["code"]))
    return found


def shell_commands(code: str) -> list[list[str]]:
    """The ``xstore`` commands of a shell block, as argument lists (``$`` prompts and
    comments dropped); other commands must be setup steps."""
    commands = []
    for line in code.splitlines():
        line = line.strip().removeprefix("$ ")
        if not line or line.startswith("#"):
            continue
        for command in line.split("&&"):
            words = shlex.split(command, comments=True)
            if words and words[0] == "xstore":
                commands.append(words[1:])
            elif not command.strip().startswith(SETUP):
                raise AssertionError(
                    f"shell command {command.strip()!r} is neither an xstore command nor a "
                    "setup step; make it runnable or mark its block <!-- no-run -->"
                )
    return commands


def script(page: Path) -> str:
    """One Python script that runs every runnable block of ``page`` in order, under
    ``if __name__ == "__main__":`` (as a script using ``dask.distributed`` must be: its
    worker processes import the main module again; an ``if`` makes no new scope)."""
    parts = ["import subprocess, sys", ""]
    for lang, code in blocks(page):
        if lang == "python":
            parts.append(code)
            continue
        for args in shell_commands(code):
            parts.append(f"subprocess.run([sys.executable, '-m', 'xstore', *{args!r}], check=True)")
    body = textwrap.indent("\n".join(parts), "    ")
    return f'if __name__ == "__main__":\n{body}\n'


RUNNABLE = [page for page in PAGES if blocks(page)]
#: pages that use object storage start their own server on loopback; anything that
#: ignored its endpoint would meet a dead port here, never a real cloud
ENV = {
    **os.environ,
    **dead_endpoint_env(),
    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
}


@pytest.mark.parametrize("page", RUNNABLE, ids=[p.name for p in RUNNABLE])
def test_code_blocks_run_as_written(page: Path, tmp_path: Path) -> None:
    path = tmp_path / f"{page.stem}_blocks.py"
    path.write_text(script(page))
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert result.returncode == 0, f"{page.name}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"


def test_the_readme_starts_with_the_demo_and_runs_code() -> None:
    first_lang, first = blocks(ROOT / "README.md")[0]
    assert first_lang == "bash" and shell_commands(first)[0] == ["demo"]
    assert sum(lang == "python" for lang, _ in blocks(ROOT / "README.md")) >= 4


def test_no_run_marks_are_few() -> None:
    marked = sum(p.read_text(encoding="utf-8").count("<!-- no-run -->") for p in PAGES)
    assert marked <= 2, "make the examples runnable instead"


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    """-W: a warning (an undocumented public name, one missing from the reference) fails."""
    argv = ["-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path)]
    result = subprocess.run([sys.executable, "-m", "sphinx", *argv], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "types.html").exists()
    import xstore

    for name in xstore.__all__:
        if not name.startswith("__"):
            assert (tmp_path / "_generated" / "api" / f"xstore.{name}.html").exists(), name


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")
def test_an_undocumented_public_name_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sphinx.cmd.build import build_main

    import xstore

    class Undocumented:
        def method(self) -> None:
            pass

    Undocumented.__module__ = "xstore"
    monkeypatch.setattr(xstore, "Undocumented", Undocumented, raising=False)
    monkeypatch.setattr(xstore, "__all__", [*xstore.__all__, "Undocumented"])
    argv = ["-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path)]
    assert build_main(argv) != 0
    err = capsys.readouterr().err
    assert "xstore.Undocumented has no docstring" in err
    assert "xstore.Undocumented.method has no docstring" in err
    assert "xstore.Undocumented is not in the API reference" in err
