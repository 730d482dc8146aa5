"""The Flex Template's entry point: ``python main.py --name=value ...`` is ``newsflow run --name=value ...``.

Dataflow's launcher runs the file named by ``FLEX_TEMPLATE_PYTHON_PY_FILE`` with every template
parameter as ``--name=value``, plus the job's own options (``--runner=DataflowRunner``,
``--project``, ``--region``, ``--job_name``, ``--staging_location``, ``--temp_location``,
``--template_location``, ``--sdk_container_image``...). The CLI already passes whatever it does
not know on to Beam, so this file only adapts two things:

- booleans: a template parameter always has a value (``--stream=true``), while our flags are
  argparse ``store_true`` switches that reject one (``--stream``);
- the runner: newsflow's default is the local FnApiRunner; a template run without
  ``--runner`` would process everything on the launcher VM, so Dataflow is the default here.

The Airflow DAG (``deploy/airflow/newsflow_dag.py``) uses this file too, as a plain script.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

TRUE_VALUES = ("true", "1", "yes", "")
FALSE_VALUES = ("false", "0", "no")


def boolean_flags() -> set[str]:
    """The option strings of NewsflowOptions' switches (``--stream``, ``--allow-private-hosts``...)."""
    from pipeline.options import NewsflowOptions

    parser = argparse.ArgumentParser(add_help=False)
    NewsflowOptions._add_argparse_args(parser)
    return {name for action in parser._actions if action.nargs == 0 for name in action.option_strings}


def template_argv(argv: Sequence[str]) -> list[str]:
    """The launcher's arguments as ``newsflow run`` takes them."""
    switches = boolean_flags()
    out: list[str] = []
    for arg in argv:
        name, has_value, value = arg.partition("=")
        if has_value and name in switches:
            if value.strip().lower() in TRUE_VALUES:
                out.append(name)
            elif value.strip().lower() not in FALSE_VALUES:
                raise SystemExit(f"error: {name} takes true or false, not {value!r}")
            continue
        out.append(arg)
    if not any(arg == "--runner" or arg.startswith("--runner=") for arg in out):
        out.append("--runner=DataflowRunner")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.cli import main as newsflow

    # -v: INFO logs carry the Dataflow job id, which the launcher's console log and Airflow's
    # Beam operator (it reads the job id from the driver's output) both need.
    return newsflow(["-v", "run", *template_argv(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
