import hashlib
import json

from django.db import migrations, models


def _content_tag(headshot) -> str:
    # teams.models.headshot_content_tag as of this migration (a migration keeps its own copy).
    params = headshot.variant_params or {}
    identity = [headshot.file.name, headshot.width, headshot.height, sorted((headshot.renditions or {}).items()),
                (headshot.qc or {}).get("face_box"), params.get("face_box"), params.get("framing"),
                params.get("backend")]
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def fill_content_tags(apps, schema_editor):
    Headshot = apps.get_model("teams", "Headshot")
    batch = []
    for headshot in Headshot.objects.only("file", "width", "height", "renditions", "qc", "variant_params").iterator(
            chunk_size=1000):
        headshot.content_tag = _content_tag(headshot)
        batch.append(headshot)
        if len(batch) >= 1000:
            Headshot.objects.bulk_update(batch, ["content_tag"])
            batch = []
    if batch:
        Headshot.objects.bulk_update(batch, ["content_tag"])


class Migration(migrations.Migration):

    dependencies = [("teams", "0005_employee_directory_fields")]

    operations = [
        migrations.AddField(
            model_name="headshot", name="content_tag",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(fill_content_tags, migrations.RunPython.noop),
    ]
