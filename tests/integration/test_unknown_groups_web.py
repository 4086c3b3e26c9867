"""Unknown-face groups through the web app and the CLI with the real face models: crops of Biden the worker's
collector wrote (with their encodings) are grouped by the worker's keeper; the group is listed with its best shots,
merged, named ("This is …": enrolled through the upload checks, its crops deleted), ignored and no longer ignored;
the CLI does the same. Against the real daemon: tests/e2e/test_visitor_groups.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from devtools.daemon import write_config
from facedaemon.__main__ import main
from facedaemon.config.models import RecognitionConfig
from facedaemon.faces.crops import shot_of
from facedaemon.faces.quality import live_quality
from facedaemon.faces.tracker import Track, offer_shot
from facedaemon.faces.types import UNKNOWN
from facedaemon.gallery import groups
from facedaemon.gallery.settings import GallerySettings
from facedaemon.worker.groups import GroupKeeper
from facedaemon.worker.unknowns import UnknownCollector
from tests.realparts import SHARED_DATA

pytestmark = pytest.mark.needs_photos


@pytest.fixture
def settings(tmp_path: Path, gallery: Callable[..., GallerySettings]) -> GallerySettings:
    return gallery(tmp_path, "Obama", each=1)


def collect(folder: Path, keeper: GroupKeeper, photo: str, track_id: int) -> str:
    """What the worker does with a stranger's track on camera 'door' (as in test_unknowns_web.py), with the keeper."""
    from facedaemon.faces import engine
    from facedaemon.gallery.images import load_rgb

    rgb = load_rgb(SHARED_DATA / "images" / photo, max_side=900)
    (box,) = engine.detect_full(rgb, 0.5, "hog", 1)
    frame = np.ascontiguousarray(rgb[:, :, ::-1])
    stranger = Track(track_id, box, 0.0)
    (encoding,) = engine.encode(rgb, [box])
    stranger.vote(UNKNOWN, 0.8, 0.2, 0.0)
    offer_shot(stranger, shot_of(frame, box, live_quality(rgb, box, None, None), encoding, time.time()))
    collector = UnknownCollector(folder, "door", "0a1b2c3d", groups=keeper)
    collector.observe([stranger], {track_id}, 0.0, time.time())
    collector.observe([], set(), 0.1, time.time())
    (crop,) = folder.glob(f"*-{track_id}.jpg")
    return crop.stem


def test_a_group_is_listed_merged_named_and_its_crops_go(tmp_path: Path, settings: GallerySettings,
                                                          make_client) -> None:
    folder = settings.faces_dir / ".unknowns"
    keeper = GroupKeeper(folder)
    first = collect(folder, keeper, "biden.jpg", 1)
    keeper.step(0.0, final=True)
    second = collect(folder, keeper, "obama2.jpg", 2)  # a stranger too: Obama's gallery is not consulted here
    keeper.step(1.0, final=True)
    client = make_client(gallery=GallerySettings.from_recognition(settings.faces_dir, settings.cache_dir,
                                                                  RecognitionConfig()),
                         unknowns_dir=folder, unknowns_save=True, unknowns_retention=3600.0)
    listed = client.get("/api/unknowns/groups").json["groups"]
    assert len(listed) == 2 and sorted(g["size"] for g in listed) == [1, 1], listed
    biden = next(g for g in listed if g["best"][0]["id"] == first)
    obama = next(g for g in listed if g["best"][0]["id"] == second)
    assert client.get(biden["best"][0]["url"]).status_code == 200 and biden["cameras"] == ["door"]

    merged = client.post(f"/api/unknowns/groups/{biden['id']}/merge", json={"other": obama["id"]})
    assert merged.status_code == 200 and merged.json["size"] == 2
    assert client.post(f"/api/unknowns/groups/{biden['id']}/merge", json={"other": obama["id"]}).status_code == 404
    assert client.post(f"/api/unknowns/groups/{biden['id']}/name", json={"name": "../x"}).status_code == 400
    assert client.post(f"/api/unknowns/groups/{biden['id']}/name", json={}).status_code == 400

    named = client.post(f"/api/unknowns/groups/{biden['id']}/name", json={"name": "Joe Biden"})
    assert named.status_code == 201, named.json
    # One by one through the upload checks, best shot first: the crop enrolled first is in the gallery cache at once
    # (the checks' own encoding), so the other face, merged in by mistake, is refused as another person's; both go.
    assert len(named.json["added"]) == 1 and named.json["removed"] == 2, named.json
    (refused,) = named.json["refused"]
    assert refused.split(":")[0] in (first, second) and "likely a different person" in refused, refused
    assert sorted(p.name for p in (settings.faces_dir / "Joe Biden").iterdir()) == sorted(
        Path(p).name for p in named.json["added"])
    assert not list(folder.glob("*.jpg")) and client.get("/api/unknowns/groups").json["groups"] == []
    assert client.post(f"/api/unknowns/groups/{biden['id']}/name", json={"name": "Joe"}).status_code == 404


def test_ignore_and_the_cli(tmp_path: Path, settings: GallerySettings, make_client, capsys) -> None:
    folder = settings.faces_dir / ".unknowns"
    keeper = GroupKeeper(folder)
    collect(folder, keeper, "biden.jpg", 1)
    keeper.step(0.0, final=True)
    (gid,) = groups.read_state(folder).groups
    config_path, _ = write_config(tmp_path, {"door": {"source": "pattern"}}, settings.faces_dir,
                                  unknowns={"save": True})
    assert main(["unknowns", "--config", str(config_path), "groups"]) == 0
    assert f"{gid}     1 face(s)" in capsys.readouterr().out
    assert main(["unknowns", "--config", str(config_path), "ignore", gid]) == 0
    assert "ignored (1 encodings kept" in capsys.readouterr().out and not list(folder.glob("*.jpg"))
    keeper.step(1.0, final=True)
    assert keeper.ignored.shape == (1, 128)
    client = make_client(unknowns_dir=folder, unknowns_save=True, unknowns_retention=3600.0)
    (shown,) = client.get("/api/unknowns/groups").json["groups"]
    assert shown["ignored"] and shown["kept"] == 1 and shown["size"] == 0
    assert client.post(f"/api/unknowns/groups/{gid}/name", json={"name": "Joe"}).status_code in (404, 409)
    assert client.delete(f"/api/unknowns/groups/{gid}/ignore").status_code == 200
    assert main(["unknowns", "--config", str(config_path), "ignore", "g-00000000"]) == 1
    assert "no group 'g-00000000'" in capsys.readouterr().err

    collect(folder, keeper, "obama2.jpg", 2)
    keeper.step(2.0, final=True)
    (other,) = groups.read_state(folder).groups
    assert main(["unknowns", "--config", str(config_path), "name", other, "Someone Else"]) == 0
    assert f"{other} is Someone Else: 1 photo(s) added, 1 crop(s) deleted" in capsys.readouterr().out
    assert len(list((settings.faces_dir / "Someone Else").iterdir())) == 1 and not list(folder.glob("*.jpg"))


def test_groups_need_a_login_and_a_read_token_only_reads(tmp_path: Path, make_client) -> None:
    from facedaemon.config.auth import AuthConfig
    from facedaemon.web.auth import hash_token

    folder = tmp_path / "unknowns"
    groups.write_state(folder, groups.GroupState({"g-0123abcd": groups.Group("g-0123abcd", ignored=True,
                                                                             kept=[[0.0] * 128])}))
    client = make_client(unknowns_dir=folder, unknowns_save=True, unknowns_retention=3600.0,
                         auth=AuthConfig(tokens=(f"read:{hash_token('viewer')}", hash_token("admin"))))
    assert client.get("/api/unknowns/groups").status_code == 401
    viewer, admin = {"Authorization": "Bearer viewer"}, {"Authorization": "Bearer admin"}
    assert [g["id"] for g in client.get("/api/unknowns/groups", headers=viewer).json["groups"]] == ["g-0123abcd"]
    assert client.delete("/api/unknowns/groups/g-0123abcd/ignore", headers=viewer).status_code == 403
    assert client.delete("/api/unknowns/groups/g-0123abcd/ignore", headers=admin).status_code == 200
