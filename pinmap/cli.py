"""The `pinmap` command line: database migrations, data loading and checks, boundary imports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import Session, sessionmaker

from geo.boundaries import BoundaryFileError, read_boundaries

from .config import PROJECT_ROOT
from .models import ROLES

if TYPE_CHECKING:
    # Annotations only: the commands import the services when they run.
    from .services.dataload import ParsedData

# The credit line of the province file the project's own runs use (../shared/reference).
SHARED_ATTRIBUTION = "OCHA / Royal Thai Survey Department, via HDX (CC BY-IGO 3.0)"


def _factory() -> sessionmaker[Session]:
    return current_app.extensions["pinmap"]["session_factory"]


def run_migrations(url: str | None = None, connection: object | None = None) -> None:
    """`alembic upgrade head` on `url`, or on an open connection (tests)."""
    from alembic.config import Config

    from alembic import command

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    if connection is not None:
        cfg.attributes["connection"] = connection
    elif url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


db_cli = click.Group("db", help="Database schema.")


@db_cli.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply Alembic migrations up to head."""
    run_migrations(current_app.config["SQLALCHEMY_URL"])
    click.echo("schema at head")


data_cli = click.Group("data", help="Reference data (offices, clusters, provinces, policy items).")


@data_cli.command("load")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@with_appcontext
def data_load(data_dir: Path | None) -> None:
    """Validate data/*.csv and load them in one transaction (nothing on any error)."""
    from .services.coaching import load_rounds
    from .services.dataload import DataFileError, load, parse_data_dir

    directory = data_dir or Path(current_app.config["PINMAP_DATA_DIR"])
    try:
        parsed = parse_data_dir(directory)
    except DataFileError as exc:
        raise click.ClickException(f"{directory}: {exc}") from exc
    try:
        with _factory().begin() as session:
            summary = load(session, parsed)
            rounds_file = directory / "monitoring_rounds.csv"
            rounds = load_rounds(session, rounds_file) if rounds_file.exists() else {}
    except DataFileError as exc:  # checks against the database (boundaries, reports)
        raise click.ClickException(f"{directory}: {exc} (nothing was loaded)") from exc
    if rounds.get("inserted") or rounds.get("updated"):
        click.echo(f"monitoring rounds: {rounds}")
    if not summary.changed:
        click.echo("data unchanged: " + ", ".join(f"{n} {k}" for k, n in _counts(parsed).items()))
    else:
        click.echo(
            f"loaded: created {summary.created}, updated {summary.updated}, "
            f"deleted {summary.deleted}"
        )
    if summary.kept_app_changes:
        click.echo(
            "kept as changed in the app (approved profile pin or cluster move): "
            + ", ".join(summary.kept_app_changes)
        )
    if summary.kept_not_in_file:
        click.echo(
            f"warning: offices in the database but not in the file (kept): "
            f"{', '.join(summary.kept_not_in_file)}",
            err=True,
        )


def _counts(parsed: ParsedData) -> dict[str, int]:
    return {
        "clusters": len(parsed.clusters),
        "provinces": len(parsed.provinces),
        "offices": len(parsed.offices),
        "policy items": len(parsed.items),
    }


@data_cli.command("check")
@with_appcontext
def data_check() -> None:
    """Report every office whose pin is not inside its province polygon (exit 1 if any)."""
    from sqlalchemy import func, select

    from .models import Province
    from .services.boundaries import offices_outside_province

    with _factory()() as session:
        with_geom = session.scalar(select(func.count()).where(Province.geom.is_not(None)))
        if not with_geom:
            raise click.ClickException(
                "no province boundaries imported; run `pinmap boundaries import FILE` first"
            )
        misplaced = offices_outside_province(session)
    for m in misplaced:
        click.echo(f"{m.code}\t{m.name_th}\tnot inside {m.province_th} ({m.distance_km} km away)")
    click.echo(
        f"{len(misplaced)} office(s) outside their province polygon "
        f"({with_geom} provinces with boundaries)"
    )
    if misplaced:
        raise SystemExit(1)


boundaries_cli = click.Group("boundaries", help="Administrative boundaries.")


@boundaries_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--level", type=click.Choice(["province", "amphoe"]), default="province")
@click.option("--code-field", help="Attribute holding the DOPA code (auto-detected if omitted).")
@click.option("--name-field", help="Attribute holding the Thai name (auto-detected if omitted).")
@click.option("--attribution", default="", help="Credit line shown with the boundaries.")
@click.option("--if-changed", is_flag=True, help="Skip when this exact file was imported last.")
@with_appcontext
def boundaries_import(
    path: Path,
    level: str,
    code_field: str | None,
    name_field: str | None,
    attribution: str,
    if_changed: bool,
) -> None:
    """Import a province or amphoe boundary file (any format GDAL reads) into PostGIS."""
    from .services.boundaries import already_imported, file_sha256, import_boundaries

    digest = file_sha256(path) if path.is_file() else ""
    if if_changed and digest:
        with _factory()() as session:
            if already_imported(session, level, digest):
                click.echo(f"{path.name}: already imported, unchanged")
                return
    try:
        bset = read_boundaries(path, level, code_field=code_field, name_field=name_field)
        with _factory().begin() as session:
            result = import_boundaries(
                session,
                bset,
                level,
                source_name=path.name,
                sha256=digest,
                attribution=attribution,
            )
    except BoundaryFileError as exc:
        raise click.ClickException(f"{exc} (nothing was imported)") from exc
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(
        f"{path.name}: {result.matched} {level} boundaries imported ({bset.repaired} repaired)"
    )
    if result.missing:
        click.echo(
            f"warning: no boundary for province code(s) {', '.join(result.missing)}", err=True
        )


users_cli = click.Group("users", help="People who sign in.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--office", "office_code", help="Office code, for office roles.")
@click.password_option(help="Asked for when omitted (at least 10 characters).")
@with_appcontext
def users_create(email: str, name: str, role: str, office_code: str | None, password: str) -> None:
    """Create a user (the first admin is made this way)."""
    from .services.accounts import create_user
    from .services.audit import Actor
    from .services.errors import ServiceError

    try:
        with _factory().begin() as session:
            user = create_user(
                session,
                Actor(None, "cli"),
                email=email,
                name=name,
                password=password,
                role=role,
                office_code=office_code,
            )
            click.echo(f"user {user.email} ({user.role}) created")
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc


tokens_cli = click.Group("tokens", help="API bearer tokens for machine clients.")


@tokens_cli.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--days", type=int, default=365, show_default=True, help="0: never expires.")
@with_appcontext
def tokens_create(email: str, name: str, days: int) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    from sqlalchemy import select

    from .models import User
    from .services.accounts import create_token
    from .services.audit import Actor

    with _factory().begin() as session:
        user = session.scalars(select(User).filter_by(email=email.strip().lower())).first()
        if user is None:
            raise click.ClickException(f"no user {email}")
        new = create_token(session, Actor(None, "cli"), user, name, days=days or None)
    click.echo(new.secret)


@tokens_cli.command("list")
@click.option("--email", required=True, help="Whose tokens.")
@with_appcontext
def tokens_list(email: str) -> None:
    """A user's tokens: prefix, name, created, expires, last used, revoked."""
    from sqlalchemy import select

    from .models import User
    from .services.accounts import tokens_of

    with _factory()() as session:
        user = session.scalars(select(User).filter_by(email=email.strip().lower())).first()
        if user is None:
            raise click.ClickException(f"no user {email}")
        for t in tokens_of(session, user):
            click.echo(
                "\t".join(
                    [
                        t.prefix,
                        t.name,
                        f"{t.created_at:%Y-%m-%d}",
                        f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never",
                        f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
                        "revoked" if t.revoked_at else "active",
                    ]
                )
            )


@tokens_cli.command("revoke")
@click.argument("prefix")
@with_appcontext
def tokens_revoke(prefix: str) -> None:
    """Revoke the token whose secret starts with PREFIX (as `tokens list` shows it)."""
    from .services.accounts import revoke_token
    from .services.audit import Actor
    from .services.errors import ServiceError

    try:
        with _factory().begin() as session:
            token = revoke_token(session, Actor(None, "cli"), prefix)
            click.echo(f"token {token.prefix}… ({token.name}) revoked")
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc


ingest_cli = click.Group("ingest", help="Scheduled ingestion from reporting endpoints.")


@ingest_cli.command("run")
@with_appcontext
def ingest_run() -> None:
    """Run the scheduler in this process (same as `python -m ingest`)."""
    import logging

    from ingest.scheduler import main as scheduler_main

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    url = str(current_app.config["SQLALCHEMY_URL"])
    scheduler_main(_factory(), url.replace("postgresql+psycopg://", "postgresql://", 1))


@ingest_cli.command("once")
@click.argument("source")
@with_appcontext
def ingest_once(source: str) -> None:
    """Run one source now, with a progress bar; exit 1 if the run failed."""
    from ingest.jobs import run_source

    with click.progressbar(length=0, label=f"{source}", show_pos=True) as bar:
        seen = [0]

        def advance(fetched: int) -> None:
            bar.length = max(bar.length or 0, fetched)
            bar.update(fetched - seen[0])
            seen[0] = fetched

        try:
            result = run_source(_factory(), source, progress=advance)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    click.echo(
        f"{source}: {result.outcome}{' — ' + result.error if result.error else ''}"
        f"{' (' + counts + ')' if counts else ''}"
    )
    if result.outcome in ("failed", "skipped"):
        raise SystemExit(1)


sources_cli = click.Group("sources", help="Ingest source configuration.")
ingest_cli.add_command(sources_cli)


@sources_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def sources_load(path: Path) -> None:
    """Create or update sources from a JSON file ({"sources": {name: {...}}}), all or nothing."""
    from ingest.sources import SourceError, load_file

    try:
        with _factory().begin() as session:
            done = load_file(session, path)
    except SourceError as exc:
        raise click.ClickException(f"{exc} (nothing was changed)") from exc
    for name, created in done:
        click.echo(f"{'created' if created else 'updated'} {name}")


@sources_cli.command("list")
@with_appcontext
def sources_list() -> None:
    """List sources (credentials are shown by variable name only)."""
    from sqlalchemy import select

    from .models import IngestSource

    with _factory()() as session:
        for s in session.scalars(select(IngestSource).order_by(IngestSource.name)):
            when = s.cron or f"every {s.interval_seconds} s"
            click.echo(f"{s.name}\t{s.kind}\t{when}\t{'on' if s.enabled else 'off'}\t{s.url}")


@click.command("setup")
@click.option(
    "--boundaries",
    "boundaries_file",
    envvar="PINMAP_BOUNDARIES",
    default="",
    help="Province boundary file to import when changed (default $PINMAP_BOUNDARIES).",
)
@click.option(
    "--attribution",
    envvar="PINMAP_BOUNDARIES_ATTRIBUTION",
    default=SHARED_ATTRIBUTION,
    show_default=True,
)
@click.pass_context
def setup(ctx: click.Context, boundaries_file: str, attribution: str) -> None:
    """Migrate, load data/ and import boundaries in one process (what `make run` needs)."""
    # One process instead of three: each start of the CLI costs seconds of imports.
    ctx.invoke(db_upgrade)
    ctx.invoke(data_load, data_dir=None)
    if boundaries_file:
        ctx.invoke(
            boundaries_import,
            path=Path(boundaries_file),
            level="province",
            code_field=None,
            name_field=None,
            attribution=attribution,
            if_changed=True,
        )
    else:
        click.echo(
            "PINMAP_BOUNDARIES not set: no province outlines (see data/boundaries/README.md)"
        )


uploads_cli = click.Group("uploads", help="Uploaded evidence, photos and attachments.")


@uploads_cli.command("sweep")
@click.option(
    "--min-age",
    "min_age_minutes",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Minutes; younger files may belong to a running request.",
)
@click.option("--dry-run", is_flag=True, help="List the orphans, delete nothing.")
@with_appcontext
def uploads_sweep(min_age_minutes: int, dry_run: bool) -> None:
    """Delete stored files no row refers to (left by a killed process, or replaced since)."""
    from .services.uploads import orphan_files

    upload_dir = current_app.config["PINMAP_UPLOAD_DIR_PATH"]
    with _factory()() as session:
        orphans = orphan_files(session, upload_dir, min_age_minutes * 60)
    freed = 0
    for path in orphans:
        freed += path.stat().st_size
        click.echo(f"{'would delete' if dry_run else 'deleted'} {path}")
        if not dry_run:
            path.unlink(missing_ok=True)
    click.echo(f"{len(orphans)} orphan file(s), {freed:,} bytes")


def register(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(data_cli)
    app.cli.add_command(boundaries_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(ingest_cli)
    app.cli.add_command(uploads_cli)
    app.cli.add_command(setup)


def _create_app() -> Flask:
    from . import create_app

    try:
        return create_app()
    except RuntimeError as exc:  # no database configured: a usage error, not a traceback
        raise click.ClickException(str(exc)) from exc


class _Commands(FlaskGroup):
    """Our commands are registered on the group itself, not only on the app, so that listing
    them and `--help` need no app, and so no database: the app loads when a command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)


@click.group(cls=_Commands, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """pinmap management commands."""


for _command in (db_cli, data_cli, boundaries_cli, users_cli, tokens_cli, ingest_cli, uploads_cli):
    main.add_command(_command)
main.add_command(setup)


if __name__ == "__main__":
    main()
