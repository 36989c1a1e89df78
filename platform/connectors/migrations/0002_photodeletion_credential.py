from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="photodeletion",
            name="credential",
            field=models.TextField(blank=True),
        ),
    ]
