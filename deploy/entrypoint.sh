#!/bin/sh
# The image's entrypoint: runs the role's command (compose's `command`, Kubernetes' `args`).
# PROMETHEUS_MULTIPROC_DIR must be empty when a host's processes start (docs/operations.md
# "Metrics"). A container restarted in its pod keeps the pod's emptyDir, and its processes get the
# same PIDs again (PID 1 ...): they would read back the dead ones' values (a gauge of open
# sockets starting at the old count). So each start empties it first.
set -e
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ] && [ -d "$PROMETHEUS_MULTIPROC_DIR" ]; then
    find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -type f -delete
fi
exec "$@"
