#!/bin/sh
# The image's roles. `web`: gunicorn (platform/config/gunicorn.py reads its sizing from settings).
# `worker`: a dramatiq worker that first joins the Ray cluster at RAY_ADDRESS as a node with no CPUs and no GPUs,
# so its processes are Ray drivers on a local raylet (actors never land here) -- the way KubeRay runs drivers in
# pods of their own. Anything else runs as given (`ray start ...`, `python manage.py migrate`).
set -eu
role="${1:-web}"
case "$role" in
  web)
    shift || true
    exec gunicorn -c python:config.gunicorn config.wsgi:application "$@"
    ;;
  worker)
    shift
    if [ -n "${RAY_ADDRESS:-}" ] && [ "${RAY_ADDRESS}" != "local" ]; then
      # A restarted container (crash-only recovery after a lost cluster) joins the head afresh.
      ray stop --force >/dev/null 2>&1 || true
      # shellcheck disable=SC2086  # RAY_WORKER_NODE_ARGS is a list of flags
      ray start --address="$RAY_ADDRESS" --num-cpus=0 --num-gpus=0 --disable-usage-stats \
        --object-store-memory="$(( ${RAY_DRIVER_OBJECT_STORE_MB:-256} * 1024 * 1024 ))" \
        ${RAY_NODE_IP_ADDRESS:+--node-ip-address="$RAY_NODE_IP_ADDRESS"} ${RAY_WORKER_NODE_ARGS:-}
    fi
    exec python manage.py rundramatiq "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
