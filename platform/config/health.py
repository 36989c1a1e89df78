"""Liveness (/healthz: the process answers) and readiness (/readyz: its database, Redis and optionally Ray answer)."""
from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

# A readiness probe must answer well inside the orchestrator's probe timeout (Kubernetes' default is 1 s... we set 5).
CHECK_TIMEOUT_S = 2.0


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _redis() -> None:
    if settings.DRAMATIQ_BROKER_KIND != "redis":
        return  # the embedded default's in-process broker has nothing to reach
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT_S,
                                  socket_timeout=CHECK_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()


def _ray() -> None:
    if settings.RAY_ADDRESS == "local":
        return  # a local Ray is started on demand by the worker itself
    from ray_cluster.pool import _probe  # lazy: ray_cluster.pool imports ray (heavy), needed only for this check

    _probe(settings.RAY_ADDRESS, timeout_s=CHECK_TIMEOUT_S)


def readyz(request) -> JsonResponse:
    checks = {"database": _database, "redis": _redis}
    if settings.READINESS_CHECK_RAY:
        checks["ray"] = _ray
    results, ready = {}, True
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            check()
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as exc:  # any failure means "not ready", with the reason for whoever looks
            ready = False
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503)
