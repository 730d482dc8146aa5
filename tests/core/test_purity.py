"""The pure cores are pure: no module of transforms/core imports Apache Beam, even indirectly."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.helpers import ROOT

CORE = ROOT / "transforms" / "core"


def test_no_core_module_imports_beam_directly():
    for path in sorted(CORE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "apache_beam" for name in names), (path.name, names)


def test_every_core_module_imports_with_beam_unavailable():
    modules = [
        f"transforms.core.{path.stem}" for path in sorted(CORE.glob("*.py")) if path.stem != "__init__"
    ]
    script = "import sys\nsys.modules['apache_beam'] = None\n" + "".join(f"import {m}\n" for m in modules)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
