"""The deployment files agree with the code they deploy.

- ``deploy/dataflow/metadata.json`` declares exactly NewsflowOptions' flags, with their help.
- ``deploy/dataflow/main.py`` turns the Flex Template launcher's ``--name=value`` arguments
  into a command line that ``newsflow run`` accepts, and a launch through it builds and
  submits the graph (a stand-in runner plays Dataflow's template launch: it takes the
  graph and returns a result without a job, as ``DataflowRunner`` does under
  ``--template_location``).
- The image's pins (``deploy/dataflow/requirements.txt``) agree with ``deploy/requirements.lock``
  and ``setup.py``, and install into a clean venv that ``pip check`` accepts and that runs
  the job (slow: skipped with ``NEWSFLOW_SKIP_SLOW=1``).
- The Dockerfile, the shell wrappers and the Airflow DAG are well-formed and name real files
  and options.

No Docker, gcloud, Flink or Airflow is needed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import PipelineResult, PipelineRunner, PipelineState

from pipeline.cli import make_parser
from pipeline.options import NewsflowOptions
from tests.helpers import ROOT, SEEDS
from transforms.lake.commit import RUN_ID_RE

DEPLOY = ROOT / "deploy"
DATAFLOW = DEPLOY / "dataflow"
METADATA = json.loads((DATAFLOW / "metadata.json").read_text(encoding="utf-8"))
# The one parameter the template requires: its default (a local folder) would be on a worker's disk.
REQUIRED_IN_TEMPLATE = {"output"}
BEAM_PIN = re.search(r'"apache-beam==([0-9.]+)"', (ROOT / "setup.py").read_text()).group(1)


def _options_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    NewsflowOptions._add_argparse_args(parser)
    return parser


OPTIONS = {action.dest: action for action in _options_parser()._actions if action.option_strings}


def _template_module():
    """``deploy/dataflow/main.py`` as a module (it is a script in the image, not a package)."""
    spec = importlib.util.spec_from_file_location("newsflow_template_main", DATAFLOW / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


# --- metadata.json ---------------------------------------------------------------------


def test_metadata_declares_exactly_the_pipeline_options():
    names = [p["name"] for p in METADATA["parameters"]]
    assert len(names) == len(set(names))
    assert set(names) == set(OPTIONS)


def test_metadata_help_and_optionality_follow_the_options():
    for param in METADATA["parameters"]:
        action = OPTIONS[param["name"]]
        assert param["helpText"] == action.help, param["name"]
        assert param["label"].strip(), param["name"]
        assert param["isOptional"] is (param["name"] not in REQUIRED_IN_TEMPLATE), param["name"]


def test_metadata_regexes_accept_the_defaults_and_typical_values():
    typical = {
        "seeds": "gs://bucket/seeds/",
        "feeds": "https://example.org/rss.xml,gs://bucket/feeds.txt",
        "output": "gs://bucket/lake",
        "state": "s3://bucket/state",
        "taxonomy": "/template/taxonomy.json",
        "allowed_hosts": "news.internal,10.0.0.8",
        "run_id": "20261122T040312Z_3f9a1c",
        "duration": "3600",
        "max_poll_interval": "3600",  # no default: adaptive intervals only when asked for
        "sitemaps": "https://example.org/,https://example.org/news-sitemap.xml",
        "since": "2d",
    }
    for param in METADATA["parameters"]:
        action = OPTIONS[param["name"]]
        if action.nargs == 0:
            values = ["true", "false"]
        elif param["name"] in typical:
            values = [typical[param["name"]]]
        else:
            values = [str(action.default)]
        for value in values:
            assert any(re.fullmatch(r, value) for r in param["regexes"]), (param["name"], value)
    run_id = next(p for p in METADATA["parameters"] if p["name"] == "run_id")
    assert run_id["regexes"] == [RUN_ID_RE.pattern]
    # Object storage only: a local path would be a folder on one worker's disk.
    output = next(p for p in METADATA["parameters"] if p["name"] == "output")
    assert not any(re.fullmatch(r, "lake") for r in output["regexes"])


# --- main.py: the launcher's command line ------------------------------------------------

# What the Flex Template launcher passes: every parameter as --name=value, plus the job's own
# options, sorted (the order does not matter to argparse).
LAUNCHER_ARGV = [
    "--allow_private_hosts=false",
    "--feeds=https://example.org/rss.xml,gs://bucket/feeds.txt",
    "--ignore_robots=true",
    "--job_name=newsflow-stream",
    "--output=gs://bucket/lake",
    "--poll_interval=120",
    "--project=my-project",
    "--region=europe-west1",
    "--runner=DataflowRunner",
    "--sdk_container_image=europe-west1-docker.pkg.dev/p/r/newsflow:1",
    "--staging_location=gs://bucket/staging",
    "--stream=true",
    "--temp_location=gs://bucket/temp",
    "--template_location=gs://bucket/staging/template_launches/2026-11-22_01/job_object",
]


def test_template_arguments_parse_as_newsflow_run_takes_them():
    argv = _template_module().template_argv(LAUNCHER_ARGV)
    assert "--stream" in argv and "--ignore_robots" in argv
    assert not any(a.startswith(("--stream=", "--allow_private_hosts", "--ignore_robots=")) for a in argv)
    args, rest = make_parser().parse_known_args(["run", *argv])
    assert args.stream and args.ignore_robots and not args.allow_private_hosts
    assert args.poll_interval == 120.0 and args.output == "gs://bucket/lake"
    options = PipelineOptions(argv)
    nf = options.view_as(NewsflowOptions)
    assert nf.feeds == ["https://example.org/rss.xml,gs://bucket/feeds.txt"] and nf.stream
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert "--template_location=" + LAUNCHER_ARGV[-1].split("=", 1)[1] in rest


def test_template_defaults_to_dataflow_and_rejects_bad_booleans():
    module = _template_module()
    assert module.template_argv(["--output=gs://b/l"])[-1] == "--runner=DataflowRunner"
    assert module.template_argv(["--runner=FnApiRunner"]) == ["--runner=FnApiRunner"]
    assert module.template_argv(["--stream="]) == ["--stream", "--runner=DataflowRunner"]
    with pytest.raises(SystemExit, match="takes true or false"):
        module.template_argv(["--stream=maybe"])
    assert module.boolean_flags() >= {"--stream", "--unbounded", "--ignore_robots", "--allow_private_hosts"}


class TemplateLaunchRunner(PipelineRunner):
    """Plays Dataflow under ``--template_location``: takes the graph, returns a result with no job.

    Like ``DataflowPipelineResult(None, ...)``: state DONE, ``wait_until_finish`` returns at
    once, no metrics. The graph is turned into its portable proto first, which pickles every
    DoFn and lambda as a real submission does.
    """

    launched: list = []

    def run_pipeline(self, pipeline, options):
        proto = pipeline.to_runner_api()
        TemplateLaunchRunner.launched.append(
            {
                "streaming": options.view_as(StandardOptions).streaming,
                "transforms": {t.unique_name for t in proto.components.transforms.values()},
                "bytes": len(proto.SerializeToString()),
            }
        )
        return _JoblessResult()


class _JoblessResult(PipelineResult):
    def __init__(self) -> None:
        super().__init__(PipelineState.DONE)

    def wait_until_finish(self, duration=None):
        return self.state

    def metrics(self):
        return None


def _launch(tmp_path, *params: str) -> int:
    TemplateLaunchRunner.launched.clear()
    argv = [
        f"--seeds={SEEDS}",
        f"--output={tmp_path / 'lake'}",
        "--runner=tests.e2e.test_deploy.TemplateLaunchRunner",
        "--template_location=" + str(tmp_path / "template_launches" / "job_object"),
        *params,
    ]
    return _template_module().main(argv)


def test_a_streaming_template_launch_submits_the_unbounded_graph_and_records_the_run(tmp_path):
    code = _launch(tmp_path, "--feeds=http://127.0.0.1:9/rss.xml", "--stream=true", "--poll_interval=60")
    assert code == 0
    (launch,) = TemplateLaunchRunner.launched
    assert launch["streaming"] and launch["bytes"] > 0
    assert {"PollTicks", "ReadSeeds", "Deduplicate", "WriteArticles"} <= {
        name.split("/")[0] for name in launch["transforms"]
    }
    (record,) = (tmp_path / "lake" / "runs").glob("*.json")
    assert json.loads(record.read_text())["mode"] == "streaming"


def test_a_batch_template_launch_submits_the_job_without_committing_it_early(tmp_path):
    assert _launch(tmp_path) == 0
    assert len(TemplateLaunchRunner.launched) == 1
    # No rows exist yet when the launcher exits: the job commits itself at its end (CommitRun).
    assert not list((tmp_path / "lake" / "runs").glob("*.json"))
    (launch,) = TemplateLaunchRunner.launched
    assert "CommitRun" in {name.split("/")[0] for name in launch["transforms"]}


# --- pins ---------------------------------------------------------------------------------


def test_image_requirements_are_pinned_and_agree_with_the_lock_and_setup():
    image, lock = _pins(DATAFLOW / "requirements.txt"), _pins(DEPLOY / "requirements.lock")
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", v) for v in image.values()), image
    assert "newsflow" not in image
    assert image["apache-beam"] == lock["apache-beam"] == BEAM_PIN
    assert {name: image.get(name) for name in lock} == lock
    # The gcp extra is what the image adds over the lock.
    assert {"google-cloud-storage", "google-apitools", "google-cloud-dataflow-client"} <= set(image)


@pytest.mark.heavy
@pytest.mark.skipif(os.environ.get("NEWSFLOW_SKIP_SLOW") == "1", reason="NEWSFLOW_SKIP_SLOW=1")
def test_image_requirements_install_in_a_clean_venv_and_run_the_job(tmp_path):
    """What the Dockerfile's pip steps do, minus Docker: install, ``pip check``, run the entry point.

    Slow (about a minute with pip's cache, several without): pip resolves ~140 pinned wheels.
    """
    started = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    # As the Dockerfile does: the lock and the image's pins together (the second holds the first).
    # --no-compile: what is checked is that the pins resolve, install and run; writing bytecode
    # for ~140 packages that the job mostly never imports is pip's largest share of the time.
    requirements = ["-r", str(DEPLOY / "requirements.lock"), "-r", str(DATAFLOW / "requirements.txt")]
    install = subprocess.run(
        [*pip, "install", "-q", "--no-compile", *requirements],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    installed = time.monotonic() - started
    # The image's entry point in that environment (newsflow from the source tree, as the
    # image installs it from the same files), on the local runner.
    lake = tmp_path / "lake"
    run = subprocess.run(
        [
            str(venv / "bin" / "python"),
            str(DATAFLOW / "main.py"),
            f"--seeds={SEEDS}",
            f"--output={lake}",
            "--runner=FnApiRunner",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "balanced" in run.stdout and "NOT BALANCED" not in run.stdout
    print(f"clean venv: install + pip check {installed:.0f} s, total {time.monotonic() - started:.0f} s")


# --- Dockerfile and scripts ----------------------------------------------------------------


def test_dockerfile_builds_on_the_pinned_sdk_and_names_real_files():
    text = (DATAFLOW / "Dockerfile").read_text()
    assert f"ARG BEAM_VERSION={BEAM_PIN}\n" in text
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in text
    assert "gcr.io/dataflow-templates-base/python311-template-launcher-base" in text
    assert "/opt/google/dataflow/python_template_launcher" in text
    assert 'ENV FLEX_TEMPLATE_PYTHON_PY_FILE="${WORKDIR}/deploy/dataflow/main.py"' in text
    assert "RUN pip check" in text and 'ENTRYPOINT ["/opt/apache/beam/boot"]' in text
    for line in text.splitlines():
        if line.startswith("COPY") and "--from=" not in line:
            *sources, _ = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), source
