"""Connector objects of a tenant for the isolation matrix: a directory connection and a failed photo push.
The connection is disabled, so other tests' approvals never queue pushes to it."""
from __future__ import annotations


def populate(tenant) -> dict[str, object]:
    from connectors.models import Connection, ConnectionKind, Destination, PhotoSync, SyncStatus

    # get_or_create: some tests populate the same organization twice (one connection per kind per organization).
    connection, _ = Connection.objects.get_or_create(
        organization=tenant.org, kind=ConnectionKind.MICROSOFT_GRAPH, defaults={
            "enabled": False,
            "credentials": {"tenant_id": "t", "client_id": "c", "client_secret": f"secret-of-{tenant.org.slug}"}})
    photo_sync = PhotoSync.objects.create(
        organization=tenant.org, employee=tenant.employee, destination=Destination.MICROSOFT_GRAPH,
        connection=connection, headshot=tenant.headshot, status=SyncStatus.FAILED, attempts=1,
        last_error="credentials rejected by Microsoft 365: AADSTS7000215: Invalid client secret provided.")
    return {"connection_id": connection, "photo_sync_id": photo_sync}
