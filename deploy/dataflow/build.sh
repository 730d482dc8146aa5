#!/usr/bin/env bash
# Build the newsflow image (launcher + workers) and the Flex Template spec that points at it.
#
#   PROJECT=my-project REGION=europe-west1 REPOSITORY=newsflow BUCKET=my-bucket deploy/dataflow/build.sh
#
# Prints IMAGE=... and TEMPLATE=... for launch.sh. Needs gcloud (authenticated) and an
# Artifact Registry Docker repository:
#   gcloud artifacts repositories create "$REPOSITORY" --repository-format=docker --location="$REGION"
# BUILD_WITH=docker builds and pushes with a local Docker instead of Cloud Build
# (after `gcloud auth configure-docker "$REGION-docker.pkg.dev"`).
set -euo pipefail

: "${PROJECT:?set PROJECT to the Google Cloud project id}"
: "${REGION:?set REGION, e.g. europe-west1}"
: "${REPOSITORY:?set REPOSITORY to an Artifact Registry Docker repository}"
: "${BUCKET:?set BUCKET to a Cloud Storage bucket for templates, staging and temp files}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# A unique tag per build: a template spec names one immutable image, so a later build
# never changes what an existing template (or a running job) uses.
TAG="${TAG:-$(date -u +%Y%m%d-%H%M%S)}"
IMAGE="${IMAGE:-$REGION-docker.pkg.dev/$PROJECT/$REPOSITORY/newsflow:$TAG}"
TEMPLATE="${TEMPLATE:-gs://$BUCKET/templates/newsflow-$TAG.json}"

cd "$ROOT"
if [[ "${BUILD_WITH:-cloudbuild}" == "docker" ]]; then
    DOCKER_BUILDKIT=1 docker build -f deploy/dataflow/Dockerfile -t "$IMAGE" .
    docker push "$IMAGE"
else
    # The Dockerfile is not at the root of the upload, hence a build config rather than --tag.
    gcloud builds submit . --project "$PROJECT" \
        --config deploy/dataflow/cloudbuild.yaml --substitutions "_IMAGE=$IMAGE"
fi

# The spec names the image and carries metadata.json: its parameters (newsflow's options,
# with their help and validation) are what the console form and `flex-template run` accept.
gcloud dataflow flex-template build "$TEMPLATE" --project "$PROJECT" \
    --image "$IMAGE" \
    --sdk-language PYTHON \
    --metadata-file deploy/dataflow/metadata.json

echo "IMAGE=$IMAGE"
echo "TEMPLATE=$TEMPLATE"
