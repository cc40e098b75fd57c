"""Uploaded files live and die with their transaction; `pinmap uploads sweep` finds the rest."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from pinmap.services.uploads import clean_upload, store

from ..support.portal import World, full_report


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


def _files(app: Flask) -> list[Path]:
    root: Path = app.config["PINMAP_UPLOAD_DIR_PATH"]
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _upload(client: FlaskClient, w: World, version: int) -> int:
    return client.post(
        w.entry_url(suffix="/evidence"),
        headers=w.headers("own_editor"),
        data={
            "version": str(version),
            "title": "รูปกิจกรรม",
            "file": (io.BytesIO(_jpeg()), "activity.jpg"),
        },
        content_type="multipart/form-data",
    ).status_code


def test_a_refused_upload_leaves_no_file_and_an_accepted_one_keeps_its_file(
    app: Flask, client: FlaskClient, world: World
) -> None:
    rev = client.put(world.entry_url(), json=full_report(), headers=world.headers("own_editor"))
    version = rev.get_json()["version"]
    assert _upload(client, world, version + 5) == 409  # stale: the transaction rolls back
    assert _files(app) == []
    assert _upload(client, world, version) == 201
    assert len(_files(app)) == 1


def test_files_stored_in_a_rolled_back_session_are_removed(
    session: Session, tmp_path: Path
) -> None:
    clean = clean_upload(io.BytesIO(_jpeg()), "a.jpg")
    kept = tmp_path / store(tmp_path, clean, session)
    session.commit()
    dropped = tmp_path / store(tmp_path, clean, session)
    unowned = tmp_path / store(tmp_path, clean)  # no session: the caller owns it
    session.rollback()
    assert kept.exists() and not dropped.exists() and unowned.exists()


def test_sweep_deletes_old_unreferenced_files_only(
    app: Flask, client: FlaskClient, world: World
) -> None:
    rev = client.put(world.entry_url(), json=full_report(), headers=world.headers("own_editor"))
    assert _upload(client, world, rev.get_json()["version"]) == 201
    (referenced,) = _files(app)
    root: Path = app.config["PINMAP_UPLOAD_DIR_PATH"]
    clean = clean_upload(io.BytesIO(_jpeg()), "b.jpg")
    old_orphan, young_orphan = root / store(root, clean), root / store(root, clean)
    old_part = old_orphan.parent / ".upload-x.part"
    old_part.write_bytes(b"half")
    stranger = old_orphan.parent / "notes.txt"  # not a name store() makes: never touched
    stranger.write_text("x")
    hour_ago = time.time() - 3700
    for path in (referenced, old_orphan, old_part, stranger):
        os.utime(path, (hour_ago, hour_ago))

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["uploads", "sweep", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 orphan file(s)" in dry.output and old_orphan.exists()
    done = runner.invoke(args=["uploads", "sweep"])
    assert done.exit_code == 0, done.output
    assert not old_orphan.exists() and not old_part.exists()
    assert referenced.exists() and young_orphan.exists() and stranger.exists()
