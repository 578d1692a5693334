"""``congvu scheduler``, ``congvu worker`` and ``congvu jobs …``: scheduled and background work."""

from __future__ import annotations

import datetime as dt
import signal
import threading

import click
from flask.cli import with_appcontext

from admin_app.cli.core import main, runtime


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@main.command("scheduler")
@click.option("--worker/--no-worker", default=True, show_default=True, help="Also run background tasks.")
@with_appcontext
def scheduler_command(worker: bool) -> None:
    """Run scheduled jobs (one process per deployment; a second one waits for the lease) and, beside them,
    a worker for background tasks (imports…)."""
    from admin_app.jobs import holder_name
    from admin_app.scheduler import run_scheduler

    stop = _stop_on_signals()
    thread = None
    if worker:
        task_worker = runtime().task_worker(holder_name() + ":worker")
        thread = threading.Thread(target=task_worker.run_forever, args=(stop,), name="tasks", daemon=True)
        thread.start()
    run_scheduler(runtime(), stop)
    if thread is not None:
        thread.join()


@main.command("worker")
@click.option("--once", is_flag=True, help="Run the queued tasks, then stop.")
@with_appcontext
def worker_command(once: bool) -> None:
    """Run background tasks (imports…) claimed from the database; any number may run, each task runs once."""
    from admin_app.jobs import holder_name

    task_worker = runtime().task_worker(holder_name())
    if once:
        while task_worker.run_one() is not None:
            pass
        return
    click.echo(f"worker {task_worker.name}: waiting for tasks")
    task_worker.run_forever(_stop_on_signals())


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
