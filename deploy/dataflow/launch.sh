#!/usr/bin/env bash
# Launch newsflow on Dataflow from the Flex Template built by build.sh.
#
#   deploy/dataflow/launch.sh batch    # seeds + one poll of the feeds that are due, then the job ends
#   deploy/dataflow/launch.sh stream   # one long-running job polling the feeds every POLL_INTERVAL s
#   deploy/dataflow/launch.sh driver   # batch submitted from this machine (pip install 'newsflow[gcp]'),
#                                      # which waits for the job and commits the run
#
# Environment: PROJECT, REGION, BUCKET, IMAGE and TEMPLATE (printed by build.sh); FEEDS (feed
# URLs separated by commas, or a gs:// file or OPML of them) and/or SEEDS (a gs:// folder
# ending in / or a glob); OUTPUT (default gs://$BUCKET/lake); STATE (default <OUTPUT>/state).
# Optional: POLL_INTERVAL (300), MAX_WORKERS, MACHINE_TYPE, EXPERIMENTS (comma-separated).
#
# One job per lake: the lake's lock is weaker on object storage than on a local disk, so never
# run a batch job on a lake while its streaming job (or another batch) is running.
#
# Batch through the template: the Flex Template launcher only submits the job and exits; the
# job commits itself at its end (CommitRun writes runs/<id>.json after every file), and the
# next run folds its feed polls into the cursors. `driver` waits for the job instead, and
# adds the balance check and stage timings to the run record.
set -euo pipefail

MODE="${1:?usage: launch.sh batch|stream|driver}"
: "${PROJECT:?set PROJECT}"
: "${REGION:?set REGION}"
: "${BUCKET:?set BUCKET}"
: "${IMAGE:?set IMAGE (printed by build.sh)}"
OUTPUT="${OUTPUT:-gs://$BUCKET/lake}"
if [[ -z "${FEEDS:-}" && -z "${SEEDS:-}" ]]; then
    echo "set FEEDS and/or SEEDS" >&2
    exit 2
fi

# newsflow's own parameters (names as in metadata.json), then the worker image: the job runs
# on the image it was launched from, so launcher and workers share one environment.
params=("output=$OUTPUT" "sdk_container_image=$IMAGE")
[[ -n "${SEEDS:-}" ]] && params+=("seeds=$SEEDS")
[[ -n "${FEEDS:-}" ]] && params+=("feeds=$FEEDS")
[[ -n "${STATE:-}" ]] && params+=("state=$STATE")

run_template() {
    local job_name="$1"
    shift
    : "${TEMPLATE:?set TEMPLATE (printed by build.sh)}"
    # "^~^" makes "~" the separator between parameters, so values may contain commas (FEEDS).
    local joined
    joined="$(IFS='~'; echo "${params[*]}")"
    gcloud dataflow flex-template run "$job_name" --project "$PROJECT" --region "$REGION" \
        --template-file-gcs-location "$TEMPLATE" \
        --staging-location "gs://$BUCKET/staging" \
        --temp-location "gs://$BUCKET/temp" \
        --parameters "^~^$joined" \
        "$@"
}

case "$MODE" in
batch)
    # Batch: the pages of one poll are fetched host by host (politeness), so a few small
    # workers are enough; more workers only wait on the same hosts. FlexRS
    # (--flexrs-goal=COST_OPTIMIZED) is cheaper but may start hours later: not for a
    # 10-minute cadence.
    extra=(--max-workers "${MAX_WORKERS:-4}" --worker-machine-type "${MACHINE_TYPE:-n2-standard-2}")
    [[ -n "${EXPERIMENTS:-}" ]] && extra+=(--additional-experiments "$EXPERIMENTS")
    run_template "newsflow-batch-$(date -u +%Y%m%d-%H%M%S)" "${extra[@]}"
    ;;
stream)
    # Stream: PeriodicImpulse polls every POLL_INTERVAL seconds (also the shortest interval of
    # any feed; quiet feeds back off to max_poll_interval). Streaming Engine keeps the keyed
    # state (feed cursors, the dedup index of the last dedup_horizon days) and the shuffle in
    # the service instead of on worker disks: smaller workers, faster autoscaling, updates
    # without moving state. It is the default for Python jobs; the flag makes it explicit.
    # Autoscaling is capped low: throughput is bound by per-host politeness, not CPU.
    # Exactly-once is kept (the default): at-least-once mode (service option
    # streaming_mode_at_least_once) is cheaper but may apply a window's writes twice.
    # The job name is stable so that `--update` can replace the job in place (step labels
    # are stable too); run a second job under another name only on another lake.
    params+=("stream=true" "poll_interval=${POLL_INTERVAL:-300}")
    extra=(--enable-streaming-engine --max-workers "${MAX_WORKERS:-3}"
        --worker-machine-type "${MACHINE_TYPE:-n2-standard-2}")
    [[ -n "${EXPERIMENTS:-}" ]] && extra+=(--additional-experiments "$EXPERIMENTS")
    run_template "${JOB_NAME:-newsflow-stream}" "${extra[@]}"
    ;;
driver)
    # The CLI as the driver: it takes the lake's lock, submits the job, waits for it and
    # commits the run, exactly as a local run does. The workers use the image, so nothing
    # is staged but the job graph.
    args=(--output "$OUTPUT" --runner DataflowRunner --project "$PROJECT" --region "$REGION"
        --temp_location "gs://$BUCKET/temp" --staging_location "gs://$BUCKET/staging"
        --sdk_container_image "$IMAGE" --max_num_workers "${MAX_WORKERS:-4}"
        --machine_type "${MACHINE_TYPE:-n2-standard-2}")
    [[ -n "${SEEDS:-}" ]] && args+=(--seeds "$SEEDS")
    [[ -n "${FEEDS:-}" ]] && args+=(--feeds "$FEEDS")
    [[ -n "${STATE:-}" ]] && args+=(--state "$STATE")
    [[ -n "${EXPERIMENTS:-}" ]] && args+=(--experiments "$EXPERIMENTS")
    exec "${PYTHON:-python3}" -m pipeline run "${args[@]}"
    ;;
*)
    echo "usage: launch.sh batch|stream|driver" >&2
    exit 2
    ;;
esac
