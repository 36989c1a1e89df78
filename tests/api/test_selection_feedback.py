"""Employees' picks teach the brand kit's ranking, so later rollouts show what this company's people choose first."""
from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from brand_kits.models import BrandKit
from inference.ranking import RankingModel, headshot_features
from teams.models import Headshot
from tests.api.conftest import png_bytes
from tests.factories import client_for
from tests.urls import tenant_url

pytestmark = pytest.mark.django_db


def add_variant(tenant, variant: str, framing: str) -> Headshot:
    headshot = Headshot(organization=tenant.org, request=tenant.request, employee=tenant.employee,
                        brand_kit_version=tenant.kit.current_version, source_selfie=tenant.selfie, variant=variant,
                        idempotency_key=f"{tenant.request.pk}:{variant}", width=64, height=80, qc_passed=True,
                        qc={"identity_distance": 0.3, "passed": True},
                        variant_params={"variant_spec": {"framing_style": framing, "lighting": "soft"}})
    headshot.file.save("h.png", ContentFile(png_bytes()), save=False)
    headshot.save()
    return headshot


def test_a_pick_moves_the_kits_ranking_towards_what_was_picked(tenant_a):
    close_up = add_variant(tenant_a, "cu-soft-bg0-s0", "close_up")
    add_variant(tenant_a, "hs-soft-bg0-s0", "head_and_shoulders")
    add_variant(tenant_a, "sq-soft-bg0-s0", "square_avatar")
    before = RankingModel()
    entry = {"params": close_up.variant_params, "qc": close_up.qc}

    url = tenant_url("my-headshot-select", tenant_a.org, close_up.pk)
    assert client_for(tenant_a.employee_user).post(url, {"selected": True}, format="json").status_code == 200

    state = BrandKit.objects.get(pk=tenant_a.kit.pk).ranking_state
    after = RankingModel.from_dict(state)
    assert state["events_seen"] == 1
    assert after.score(headshot_features(entry)) > before.score(headshot_features(entry))
    # Picking the same favourite again is not a second vote.
    client_for(tenant_a.employee_user).post(url, {"selected": True}, format="json")
    assert BrandKit.objects.get(pk=tenant_a.kit.pk).ranking_state["events_seen"] == 1
