"""Shared test set-up: paths to the shared faces, factories for tenants and people, an API client per role."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))
DEV_FACES = SHARED / "faces" / "dev"
NEGATIVES = SHARED / "faces" / "negatives"


def dev_face(identity: str, n: int) -> Path:
    return DEV_FACES / identity / f"{n}.jpg"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Each test writes its files into its own folder, so "nothing left half stored" can be checked on disk.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def org_a(db):
    from tests.factories import make_org

    return make_org("Acme")


@pytest.fixture
def org_b(db):
    from tests.factories import make_org

    return make_org("Globex")
