"""``congvu scheduler`` and ``congvu jobs …``: scheduled work."""

from __future__ import annotations

import datetime as dt
import signal
import threading

import click
from flask.cli import with_appcontext

from admin_app.cli.core import main, runtime


@main.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run scheduled jobs (one process per deployment; a second one waits for the lease)."""
    from admin_app.scheduler import run_scheduler

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_scheduler(runtime(), stop)


@main.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs."""


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    from admin_app.jobs import registry

    for spec in registry(runtime()).values():
        click.echo(f"{spec.name:24} {spec.description}")


@jobs_group.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name: str) -> None:
    """Run job NAME now, in this process."""
    from admin_app.jobs import execute

    try:
        run = execute(runtime(), name)
    except KeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: run {run.id}")


@jobs_group.command("schedule")
@click.argument("name")
@click.option("--in", "delay", type=float, default=0.0, help="Seconds from now.")
@with_appcontext
def jobs_schedule(name: str, delay: float) -> None:
    """Queue one run of job NAME for the scheduler that holds the lease."""
    from admin_app.scheduler import schedule_once

    at = dt.datetime.now(runtime().settings.tz) + dt.timedelta(seconds=delay)
    try:
        job_id = schedule_once(runtime(), name, at)
    except KeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(job_id)
