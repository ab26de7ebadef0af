"""Build hook: ship the repository's task specs (``tasks/*.toml``) and examples inside the package.

Everything else about the build is in pyproject.toml. The specs stay at the repository's
root (the README runs ``grokkit run tasks/quickstart.toml``); this copies them into the
built package as ``grokkit/tasks/`` so that an installed grokkit resolves
``grokkit run quickstart`` without a checkout (``grokkit.spec.resolve_spec_path``). The
examples (``examples/*.py`` and the notebooks ``examples/*.ipynb``, which use the packaged specs by name)
go to ``grokkit/examples/``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithTasks(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "grokkit" / "tasks"
        target.mkdir(parents=True, exist_ok=True)
        for spec in sorted((ROOT / "tasks").glob("*.toml")):
            shutil.copy2(spec, target / spec.name)
        examples = Path(self.build_lib) / "grokkit" / "examples"
        examples.mkdir(parents=True, exist_ok=True)
        for script in sorted([*(ROOT / "examples").glob("*.py"), *(ROOT / "examples").glob("*.ipynb")]):
            shutil.copy2(script, examples / script.name)


setup(cmdclass={"build_py": BuildWithTasks})
