"""Airflow DAG: the newsflow batch job every 10 minutes, locally or on Dataflow.

Each run is one ``newsflow run`` (seeds and one poll of the feeds that are due) started by
``BeamRunPythonPipelineOperator`` (apache-airflow-providers-apache-beam) as
``<python> deploy/dataflow/main.py --runner=... --output=... --feeds=...``. The driver process
takes the lake's lock, runs or submits the job, waits for it and commits the run, so a task
succeeds only once its rows are committed.

Configuration comes from the environment of the Airflow workers, read when the DAG file is
parsed (no Variable or connection lookups at parse time):

    NEWSFLOW_RUNNER     FnApiRunner (default: on the Airflow worker) or DataflowRunner
    NEWSFLOW_PYTHON     interpreter of a venv with newsflow installed (default: python3);
                        for Dataflow: pip install -r deploy/dataflow/requirements.txt '.[gcp]'
    NEWSFLOW_MAIN_PY    the entry script (default: deploy/dataflow/main.py beside this folder)
    NEWSFLOW_OUTPUT     the lake (default: lake; on Dataflow a gs:// path)
    NEWSFLOW_STATE      optional state folder (default: <output>/state)
    NEWSFLOW_SEEDS      optional seeds folder (gs://bucket/seeds/ on Dataflow)
    NEWSFLOW_FEEDS      feed URLs or feed-list files, separated by commas
    Dataflow only: GCP_PROJECT, GCP_REGION, NEWSFLOW_IMAGE (the image of deploy/dataflow),
    NEWSFLOW_TEMP (gs://bucket/temp), NEWSFLOW_MAX_WORKERS (4), NEWSFLOW_MACHINE_TYPE.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib

from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

RUNNER = os.environ.get("NEWSFLOW_RUNNER", "FnApiRunner")
MAIN_PY = os.environ.get(
    "NEWSFLOW_MAIN_PY", str(pathlib.Path(__file__).resolve().parent.parent / "dataflow" / "main.py")
)


def pipeline_options() -> dict:
    """newsflow's options (and Beam's, for Dataflow) as the operator passes them: ``--key=value``."""
    options: dict = {"output": os.environ.get("NEWSFLOW_OUTPUT", "lake")}
    for name in ("seeds", "state"):
        if os.environ.get(f"NEWSFLOW_{name.upper()}"):
            options[name] = os.environ[f"NEWSFLOW_{name.upper()}"]
    # A list becomes one --feeds=... per item, which newsflow's --feeds (action=append) takes.
    feeds = [f.strip() for f in os.environ.get("NEWSFLOW_FEEDS", "").split(",") if f.strip()]
    if feeds:
        options["feeds"] = feeds
    if RUNNER == "DataflowRunner":
        temp = os.environ.get("NEWSFLOW_TEMP", "")
        options.update(
            temp_location=temp,
            staging_location=temp.rstrip("/") + "/staging" if temp else None,
            # The workers run the image that holds newsflow: nothing to stage but the graph.
            sdk_container_image=os.environ.get("NEWSFLOW_IMAGE"),
            max_num_workers=int(os.environ.get("NEWSFLOW_MAX_WORKERS", "4")),
            machine_type=os.environ.get("NEWSFLOW_MACHINE_TYPE", "n2-standard-2"),
        )
    return options


def dataflow_config():
    """Where the job runs on Dataflow, and that the task waits for it (the driver commits after)."""
    if RUNNER != "DataflowRunner":
        return None
    from airflow.providers.google.cloud.operators.dataflow import DataflowConfiguration

    return DataflowConfiguration(
        job_name="newsflow-batch",  # a unique suffix is appended per run
        project_id=os.environ.get("GCP_PROJECT"),
        location=os.environ.get("GCP_REGION", "europe-west1"),
        wait_until_finished=True,
    )


with DAG(
    dag_id="newsflow_batch",
    description="newsflow: seeds and the feeds that are due into the lake, every 10 minutes",
    schedule="*/10 * * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    # Runs do not overlap (one job per lake), and missed slots are not replayed: a later
    # run polls whatever is due then, so a backlog of runs would only poll empty feeds.
    max_active_runs=1,
    catchup=False,
    tags=["newsflow"],
    default_args={
        # The lake is busy (exit 3: another run holds its lock) or a transient failure: one
        # retry. A lock left by a killed run goes stale 10 minutes after its last heartbeat
        # (transforms/commit.py STALE_AFTER); the retry or the next scheduled run takes it over.
        "retries": 1,
        "retry_delay": dt.timedelta(minutes=5),
        # Longer than any healthy run (minutes), shorter than a stuck one.
        "execution_timeout": dt.timedelta(minutes=45),
    },
) as dag:
    BeamRunPythonPipelineOperator(
        task_id="newsflow_run",
        py_file=MAIN_PY,
        runner=RUNNER,
        py_interpreter=os.environ.get("NEWSFLOW_PYTHON", "python3"),
        pipeline_options=pipeline_options(),
        dataflow_config=dataflow_config(),
    )
