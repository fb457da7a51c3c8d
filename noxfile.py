"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``."""

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]


@nox.session
def tests(session: nox.Session) -> None:
    session.install(".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "xstore", "tests", "benchmarks")
    session.run("ruff", "format", "--check", "xstore")


@nox.session
def docs(session: nox.Session) -> None:
    session.install(".[test]")
    session.run("sphinx-build", "-W", "-b", "html", "docs", "docs/_build")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install(".[lint]")
    session.run("mypy")
