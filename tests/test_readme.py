"""The README's python snippets run as written (each in a fresh interpreter, from a folder that
holds the repository's ``painting_env/samples``, so their relative paths resolve)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.S | re.M)


def test_readme_has_python_snippets():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_snippet_runs(index, tmp_path):
    code = BLOCKS[index]
    if "mypaint" in re.sub(r"#.*", "", code):  # the real brush outside comments
        from painters.renderers.mypaint import unavailable_reason

        if unavailable_reason():
            pytest.skip(unavailable_reason())
    (tmp_path / "painting_env").symlink_to(ROOT / "painting_env")
    script = tmp_path / f"snippet_{index}.py"
    script.write_text("import torch\ntorch.set_num_threads(1)\n" + code)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, f"README snippet {index} failed:\n{code}\n{res.stderr[-2000:]}"
