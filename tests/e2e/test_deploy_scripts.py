"""The deploy scripts (build, launch, drivers) with fake tools on PATH, and the Airflow DAG."""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import shutil
import subprocess

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.cli import make_parser
from tests.helpers import ROOT

DEPLOY = ROOT / "deploy"
DATAFLOW = DEPLOY / "dataflow"
METADATA = json.loads((DATAFLOW / "metadata.json").read_text(encoding="utf-8"))


def _template_main():
    """``deploy/dataflow/main.py`` as a module (a script in the image, not a package)."""
    spec = importlib.util.spec_from_file_location("newsflow_template_main", DATAFLOW / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_tool(bin_dir, name: str) -> None:
    """A stand-in for gcloud or python that prints its arguments, one per line."""
    path = bin_dir / name
    path.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    path.chmod(0o755)


@pytest.fixture
def fake_tools(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("gcloud", "docker"):
        _fake_tool(bin_dir, name)
    _fake_tool(bin_dir, "fakepython")
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHON": "fakepython",
        "PROJECT": "my-project",
        "REGION": "europe-west1",
        "REPOSITORY": "newsflow",
        "BUCKET": "my-bucket",
        "IMAGE": "europe-west1-docker.pkg.dev/my-project/newsflow/newsflow:1",
        "TEMPLATE": "gs://my-bucket/templates/newsflow-1.json",
        "FEEDS": "https://example.org/rss.xml,gs://my-bucket/feeds.txt",
        "SEEDS": "gs://my-bucket/seeds/",
    }


def _script(env, path, *args) -> list[str]:
    result = subprocess.run(["bash", str(path), *args], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_build_script_builds_the_image_then_the_template_with_the_metadata(fake_tools):
    lines = _script(fake_tools, DATAFLOW / "build.sh")
    assert "deploy/dataflow/cloudbuild.yaml" in lines and "_IMAGE=" + fake_tools["IMAGE"] in lines
    start = lines.index("flex-template")
    assert lines[start + 1 : start + 3] == ["build", fake_tools["TEMPLATE"]]
    assert "deploy/dataflow/metadata.json" in lines and "PYTHON" in lines
    assert lines[-2:] == [f"IMAGE={fake_tools['IMAGE']}", f"TEMPLATE={fake_tools['TEMPLATE']}"]


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_launch_script_passes_only_declared_parameters(fake_tools, mode):
    lines = _script(fake_tools, DATAFLOW / "launch.sh", mode)
    parameters = lines[lines.index("--parameters") + 1]
    assert parameters.startswith("^~^")
    values = dict(item.split("=", 1) for item in parameters[3:].split("~"))
    declared = {p["name"] for p in METADATA["parameters"]}
    assert set(values) - declared == {"sdk_container_image"}
    assert values["feeds"] == fake_tools["FEEDS"] and values["output"] == "gs://my-bucket/lake"
    if mode == "stream":
        assert values["stream"] == "true" and "--enable-streaming-engine" in lines
        assert lines[lines.index("run") + 1] == "newsflow-stream"
    # What main.py makes of them is a command line newsflow accepts.
    argv = _template_main().template_argv([f"--{k}={v}" for k, v in values.items()])
    args, _ = make_parser().parse_known_args(["run", *argv])
    assert args.stream is (mode == "stream")


@pytest.mark.parametrize(
    ("script", "args", "env"),
    [
        (DATAFLOW / "launch.sh", ["driver"], {}),
        (DEPLOY / "flink" / "run.sh", ["batch"], {"FLINK_MASTER": "jm:8081", "OUTPUT": "s3://b/lake"}),
        (
            DEPLOY / "flink" / "run.sh",
            ["stream", "--ignore_robots"],
            {"FLINK_MASTER": "jm:8081", "OUTPUT": "s3://b/lake", "ENVIRONMENT_TYPE": "EXTERNAL"},
        ),
    ],
)
def test_driver_scripts_give_newsflow_a_command_line_it_accepts(fake_tools, script, args, env):
    lines = _script({**fake_tools, **env}, script, *args)
    assert lines[:3] == ["-m", "pipeline", "run"]
    parsed, rest = make_parser().parse_known_args(lines[2:])
    options = PipelineOptions(lines[3:])
    assert parsed.feeds and parsed.seeds
    assert options.view_as(StandardOptions).runner in ("DataflowRunner", "FlinkRunner")
    assert parsed.stream is (args[0] == "stream")


def test_shell_scripts_parse():
    for path in (DATAFLOW / "build.sh", DATAFLOW / "launch.sh", DEPLOY / "flink" / "run.sh"):
        assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0, path
        assert os.access(path, os.X_OK), path
    if shutil.which("shellcheck"):
        for path in (DATAFLOW / "build.sh", DATAFLOW / "launch.sh", DEPLOY / "flink" / "run.sh"):
            result = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True)
            assert result.returncode == 0, result.stdout


# --- Airflow --------------------------------------------------------------------------------

DAG_FILE = DEPLOY / "airflow" / "newsflow_dag.py"


def test_airflow_dag_compiles(tmp_path):
    py_compile.compile(str(DAG_FILE), cfile=str(tmp_path / "dag.pyc"), doraise=True)


def _has_airflow_beam_provider() -> bool:
    try:
        return importlib.util.find_spec("airflow.providers.apache.beam") is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(
    not _has_airflow_beam_provider(),
    reason="Airflow and its Beam provider are not installed here (too heavy for the test environment)",
)
def test_airflow_dag_imports_with_a_ten_minute_schedule_and_no_overlap():
    spec = importlib.util.spec_from_file_location("newsflow_dag", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dag.max_active_runs == 1 and not module.dag.catchup
    assert module.dag.get_task("newsflow_run").py_file.endswith("deploy/dataflow/main.py")
