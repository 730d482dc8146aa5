#!/usr/bin/env bash
# Run newsflow on a Flink cluster through Beam's portable Flink runner (see README.md here).
#
#   FLINK_MASTER=flink-jobmanager:8081 OUTPUT=s3://bucket/lake FEEDS=s3://bucket/feeds.txt \
#   ENVIRONMENT_TYPE=EXTERNAL deploy/flink/run.sh batch|stream [more newsflow or Beam options]
#
# Environment: FLINK_MASTER (host:port of the JobManager's REST endpoint), OUTPUT (a path every
# TaskManager can reach: s3://, gs://), FEEDS and/or SEEDS, optional STATE;
# FLINK_VERSION (the cluster's: 1.19, 1.20, 2.0, 2.1 or 2.2; default 1.20);
# ENVIRONMENT_TYPE: DOCKER (TaskManagers start IMAGE themselves; they need a Docker daemon),
#   EXTERNAL (a worker pool of IMAGE beside each TaskManager, at WORKER_POOL, default
#   localhost:50000) or PROCESS (newsflow and Beam's boot binary installed on every TaskManager
#   host, at BOOT, default /opt/apache/beam/boot);
# IMAGE: the image of deploy/dataflow/Dockerfile (needed for DOCKER);
# PARALLELISM (default 2); CHECKPOINT_MS (stream only, default 60000).
set -euo pipefail

MODE="${1:?usage: run.sh batch|stream [options...]}"
shift
: "${FLINK_MASTER:?set FLINK_MASTER to the host:port of the JobManager, e.g. flink-jobmanager:8081}"
: "${OUTPUT:?set OUTPUT to a lake every TaskManager can reach (s3://... or gs://...)}"
if [[ -z "${FEEDS:-}" && -z "${SEEDS:-}" ]]; then
    echo "set FEEDS and/or SEEDS" >&2
    exit 2
fi

ENVIRONMENT_TYPE="${ENVIRONMENT_TYPE:-DOCKER}"
case "$ENVIRONMENT_TYPE" in
DOCKER)
    : "${IMAGE:?set IMAGE to the newsflow image (deploy/dataflow/Dockerfile) for DOCKER}"
    environment=(--environment_type DOCKER --environment_config "$IMAGE")
    ;;
EXTERNAL)
    environment=(--environment_type EXTERNAL --environment_config "${WORKER_POOL:-localhost:50000}")
    ;;
PROCESS)
    environment=(--environment_type PROCESS
        --environment_config "{\"command\": \"${BOOT:-/opt/apache/beam/boot}\"}")
    ;;
*)
    echo "ENVIRONMENT_TYPE must be DOCKER, EXTERNAL or PROCESS" >&2
    exit 2
    ;;
esac

# --flink_submit_uber_jar: the job is packed into one jar and uploaded through the JobManager's
# REST API, so the submitting machine needs no Java and no job server, and the job does not
# depend on this process once submitted (a streaming job outlives it).
args=(--runner FlinkRunner --flink_master "$FLINK_MASTER" --flink_version "${FLINK_VERSION:-1.20}"
    --flink_submit_uber_jar --parallelism "${PARALLELISM:-2}" "${environment[@]}"
    --output "$OUTPUT")
[[ -n "${SEEDS:-}" ]] && args+=(--seeds "$SEEDS")
[[ -n "${FEEDS:-}" ]] && args+=(--feeds "$FEEDS")
[[ -n "${STATE:-}" ]] && args+=(--state "$STATE")

case "$MODE" in
batch) ;;
stream)
    # Checkpoints make the keyed state (feed cursors, the dedup index) survive a TaskManager
    # failure; without them a restart begins from empty state. The option is the Java runner's
    # and passes through the portable job API as is.
    args+=(--stream --poll_interval "${POLL_INTERVAL:-300}" --checkpointing_interval "${CHECKPOINT_MS:-60000}")
    ;;
*)
    echo "usage: run.sh batch|stream [options...]" >&2
    exit 2
    ;;
esac

exec "${PYTHON:-python3}" -m pipeline run "${args[@]}" "$@"
