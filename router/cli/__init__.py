"""The ``cligate`` command."""

from __future__ import annotations

import typer

from router.cli.explain import explain
from router.cli.log import log
from router.cli.models import models_app
from router.cli.rules import rules_app
from router.cli.run import RUN_SETTINGS, run
from router.cli.setup import setup
from router.cli.start import start
from router.cli.stats import stats

app = typer.Typer(
    name="cligate",
    help="A local router for AI coding tools: each request goes to a local model or to the cloud.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(start)
app.command()(explain)
app.command()(log)
app.command()(stats)
app.command(context_settings=RUN_SETTINGS)(run)
app.command()(setup)
app.add_typer(rules_app)
app.add_typer(models_app)


@app.callback()
def _root() -> None:
    """Keeps typer from collapsing a one-command app into that command."""


def main() -> None:
    app()
