"""The `swescribe` command line: the group and its logging options. Each subcommand is a module
of this package holding its click command and the work behind it; those modules import their
heavy dependencies inside their functions, so `swescribe --help` loads no model code."""

from __future__ import annotations

import logging

import click

from workers.commands.api import api
from workers.commands.db import db
from workers.commands.evaluate import evaluate
from workers.commands.ingest import ingest
from workers.commands.keys import keys
from workers.commands.transcribe import transcribe
from workers.commands.up import up
from workers.commands.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """swescribe: Swedish speech to text, on your own machines."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for command in (transcribe, evaluate, up, api, worker, ingest, db, keys):
    main.add_command(command)


if __name__ == "__main__":
    main()
