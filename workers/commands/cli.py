"""The `swescribe` command line: the group and its logging options. Each subcommand is a module
of this package holding its click command and the work behind it; those modules import their
heavy dependencies inside their functions, so `swescribe --help` loads no model code."""

from __future__ import annotations

import logging

import click

from workers.commands.api import api
from workers.commands.audit import audit
from workers.commands.db import db
from workers.commands.eval_summary import eval_summary
from workers.commands.evaluate import evaluate
from workers.commands.ingest import ingest
from workers.commands.keys import keys
from workers.commands.redact import redact
from workers.commands.summarize_command import summarize
from workers.commands.tenants import tenants
from workers.commands.transcribe import transcribe
from workers.commands.up import up
from workers.commands.worker import worker
from workers.logs import configure as configure_logging
from workers.settings import get_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """swescribe: Swedish speech to text, on your own machines."""
    level = logging.WARNING - 10 * min(verbose, 2)
    configure_logging(level, _log_format())


def _log_format() -> str:
    # Settings that do not validate are reported by the command that needs them, not here.
    try:
        return get_settings().log_format
    except ValueError:
        return "text"


for command in (transcribe, summarize, evaluate, eval_summary, up, api, worker, ingest, db, keys, redact, tenants, audit):
    main.add_command(command)


if __name__ == "__main__":
    main()
