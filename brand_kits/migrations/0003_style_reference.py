from django.db import migrations, models

import brand_kits.models


class Migration(migrations.Migration):

    dependencies = [
        ('brand_kits', '0002_studio_quality'),
    ]

    operations = [
        migrations.AddField(
            model_name='brandkitversion',
            name='style_reference',
            field=models.FileField(blank=True, upload_to=brand_kits.models.style_reference_upload_to),
        ),
    ]
