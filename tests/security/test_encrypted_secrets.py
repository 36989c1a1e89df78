"""Secrets we must read back are encrypted at rest: a database dump shows none of them, keys rotate, and rows written
before encryption are encrypted by the migration that introduced it."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from connectors.models import Connection, SlackConnection
from tests.factories import make_employee
from webhooks.models import WebhookEndpoint

GRAPH = {"tenant_id": "t-1", "client_id": "c-1", "client_secret": "graph-client-secret-value"}
SLACK_TOKEN = "xoxp-1234-the-persons-own-token"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci13ZWJob29rcw=="


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def store_secrets(org):
    graph = Connection.objects.create(organization=org, kind="microsoft_graph", credentials=GRAPH)
    slack = SlackConnection.objects.create(organization=org, employee=make_employee(org), access_token=SLACK_TOKEN,
                                           team_id="T0", slack_user_id="U0")
    hook = WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/x", secret=WEBHOOK_SECRET)
    return graph, slack, hook


def stored_values(graph, slack, hook) -> list[str]:
    return [raw("connectors_connection", "credentials", graph.pk),
            raw("connectors_slackconnection", "access_token", slack.pk),
            raw("webhooks_webhookendpoint", "secret", hook.pk)]


@pytest.mark.django_db
def test_secrets_are_ciphertext_in_the_database_and_plain_to_the_code(org_a):
    graph, slack, hook = store_secrets(org_a)

    for value in stored_values(graph, slack, hook):
        assert value.startswith("enc:v1:")
        assert not any(secret in value for secret in ("graph-client-secret", SLACK_TOKEN, WEBHOOK_SECRET))
    assert Connection.objects.get(pk=graph.pk).credentials == GRAPH
    assert SlackConnection.objects.get(pk=slack.pk).access_token == SLACK_TOKEN
    assert WebhookEndpoint.objects.get(pk=hook.pk).secret == WEBHOOK_SECRET
    assert WebhookEndpoint.objects.get(pk=hook.pk).previous_secret == ""  # blank stays blank


@pytest.mark.django_db
def test_a_new_key_reads_old_values_and_reencrypt_secrets_moves_them_to_it(org_a, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    graph, slack, hook = store_secrets(org_a)
    before = stored_values(graph, slack, hook)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]  # rotation starts: the new key in front, the old one kept
    assert Connection.objects.get(pk=graph.pk).credentials == GRAPH
    call_command("reencrypt_secrets")
    after = stored_values(graph, slack, hook)
    assert all(a != b for a, b in zip(after, before, strict=True))

    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone and nothing needed it
    assert Connection.objects.get(pk=graph.pk).credentials == GRAPH
    assert SlackConnection.objects.get(pk=slack.pk).access_token == SLACK_TOKEN
    assert WebhookEndpoint.objects.get(pk=hook.pk).secret == WEBHOOK_SECRET

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # a key dropped too early
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS no longer holds the key"):
        Connection.objects.get(pk=graph.pk)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_secrets_stored_before_encryption(org_a):
    executor = MigrationExecutor(connection)
    before = [("connectors", "0002_photodeletion_credential"), ("webhooks", "0001_initial")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    employee = make_employee(org_a)
    graph = old.get_model("connectors", "Connection").objects.create(
        organization_id=org_a.pk, kind="microsoft_graph", credentials=GRAPH)
    slack = old.get_model("connectors", "SlackConnection").objects.create(
        organization_id=org_a.pk, employee_id=employee.pk, access_token=SLACK_TOKEN, team_id="T0", slack_user_id="U0")
    hook = old.get_model("webhooks", "WebhookEndpoint").objects.create(
        organization_id=org_a.pk, url="https://hooks.example.com/x", secret=WEBHOOK_SECRET)
    assert SLACK_TOKEN in raw("connectors_slackconnection", "access_token", slack.pk)  # plaintext, as it was

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert all(value.startswith("enc:v1:") for value in stored_values(graph, slack, hook))
    assert Connection.objects.get(pk=graph.pk).credentials == GRAPH
    assert SlackConnection.objects.get(pk=slack.pk).access_token == SLACK_TOKEN
    assert WebhookEndpoint.objects.get(pk=hook.pk).secret == WEBHOOK_SECRET
