"""A headshot's content tag: the digest the pull API's ETags derive from, kept on the row so a listing page needs no
JSON decoding per person, and always equal to what the fields give."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from teams.models import Headshot, headshot_content_tag
from teams.rendering import delivery_etag
from tests.factories import make_employee
from tests.integrations.test_directory_api import add_headshot

pytestmark = pytest.mark.django_db


def test_saving_a_headshot_keeps_its_content_tag_in_step_with_its_files(org_a):
    headshot = add_headshot(make_employee(org_a, name="Ada Tag", external_id="T-1"))
    stored = Headshot.objects.get(pk=headshot.pk)
    assert stored.content_tag == headshot_content_tag(stored) and len(stored.content_tag) == 64
    etag = delivery_etag(stored, size=256)

    stored.renditions = {**stored.renditions, "512": "orgs/x/another-512.jpg"}
    stored.save(update_fields=["renditions"])  # a partial save still refreshes the tag
    again = Headshot.objects.get(pk=headshot.pk)
    assert again.content_tag == headshot_content_tag(again) != headshot.content_tag
    assert delivery_etag(again, size=256) != etag

    again.review_note = "looks good"
    again.save(update_fields=["review_note"])  # nothing it depends on changed: same tag, same ETag
    assert Headshot.objects.get(pk=headshot.pk).content_tag == again.content_tag


BEFORE = [("teams", "0005_employee_directory_fields")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_tags_every_existing_headshot(org_a):
    listed = add_headshot(make_employee(org_a, name="Grace Tag", external_id="T-2"))
    expected = headshot_content_tag(listed)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)  # drops the column
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Headshot.objects.get(pk=listed.pk).content_tag == expected
