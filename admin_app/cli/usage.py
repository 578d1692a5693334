"""``congvu logs …`` and ``congvu report …``: ingest mail-server logs and build the monthly report."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from admin_app.cli.core import _cli_actor, cli_unit_of_work, main, runtime
from admin_app.reports_views import definitions, export_bytes
from audit.ingest import address_book, ingest_file
from audit.report import ReportError, generate


@main.group("logs")
def logs_group() -> None:
    """Mail-server logs (Dovecot, Postfix, Roundcube) for the usage audit."""


@logs_group.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def logs_ingest(paths: tuple[Path, ...]) -> None:
    """Read log files (plain or gzip-rotated); lines already read before are not counted again."""
    rt = runtime()
    with cli_unit_of_work() as session:
        book = address_book(session)
    total_malformed = 0
    for path in paths:

        def tick(lines: int, path: Path = path) -> None:
            click.echo(f"  {path.name}: {lines:,} lines…", err=True)

        result = ingest_file(rt.session_factory, path, tz=rt.settings.tz, book=book, progress=tick)
        click.echo(result.summary())
        for number, line in result.examples[:5]:
            click.echo(f"  malformed line {number}: {line}")
        total_malformed += result.malformed
    if total_malformed:
        click.echo(f"{total_malformed} malformed lines were skipped (counted, never fatal)")


@main.group("report")
def report_group() -> None:
    """The monthly email-usage report."""


@report_group.command("monthly")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "pdf"]), default="xlsx", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def report_monthly(month: str, fmt: str, output: Path) -> None:
    """Generate the month's report (stored as a new version) and write it to a file."""
    try:
        with cli_unit_of_work() as session:
            report = generate(session, _cli_actor("report monthly"), month, definitions())
            content = export_bytes(report, fmt)
            label = f"{report.month} v{report.version}"
            province = report.data["province"]
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    output.write_bytes(content)
    share = province["regular_share"]
    click.echo(
        f"report {label}: {province['counted']:,} mailboxes counted, regular use "
        f"{'—' if share is None else f'{share * 100:.1f}%'}; wrote {output} ({len(content):,} bytes)"
    )
