"""The docs site covers the package: every public object has an API entry."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = [
    "skgalvae", "skgalvae.metrics", "skgalvae.model_selection", "skgalvae.study",
    "skgalvae.preprocessing", "skgalvae.datasets", "skgalvae.labels", "skgalvae.io",
    "skgalvae.plotting", "skgalvae.nn", "skgalvae.exceptions", "skgalvae.survey",
]  # fmt: skip
CONSTANTS = {
    "__version__", "BANDS", "SURVEYS", "GZ1_CLASSES", "GZD5_QUESTIONS",
    "ARCHITECTURES", "LIKELIHOODS", "ADAPTATIONS", "N_POSES", "POSE_NAMES",
    "SURVEY_VIEW_DEFAULTS",
}  # fmt: skip


def api_entries():
    """(module, name) pairs listed under each ``currentmodule`` of api.rst."""
    entries, module = set(), None
    for line in (ROOT / "docs" / "api.rst").read_text().splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif re.match(r"   [A-Za-z_]\w*$", line):
            entries.add((module, line.strip()))
    return entries


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_object(module_name):
    module = importlib.import_module(module_name)
    public = set(module.__all__) - CONSTANTS
    listed = {name for mod, name in api_entries() if mod == module_name}
    assert public - listed == set(), f"missing from docs/api.rst: {public - listed}"
    assert listed - public == set(), f"not public: {listed - public}"


def test_constants_are_mentioned():
    text = (ROOT / "docs" / "api.rst").read_text()
    for name in CONSTANTS - {"__version__"}:
        assert name in text


def test_every_example_has_a_gallery_title_and_a_quick_mode():
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    assert examples
    for path in examples:
        text = path.read_text()
        lines = text.split('"""')[1].strip().splitlines()
        assert set(lines[1]) == {"="} and len(lines[1]) >= len(lines[0]), path.name
        assert "--quick" in text, path.name


def test_every_page_is_in_a_toctree():
    docs = ROOT / "docs"
    pages = {
        p.relative_to(docs).with_suffix("").as_posix()
        for p in docs.rglob("*.md")
        if "_build" not in p.parts and "_cache" not in p.parts
    } - {"index"}
    listed = set()
    for page in docs.rglob("*.md"):
        text = page.read_text()
        for block in re.findall(r"```\{toctree\}(.*?)```", text, re.S):
            for entry in block.splitlines():
                entry = entry.strip()
                if entry and not entry.startswith(":"):
                    base = page.parent.relative_to(docs)
                    listed.add((base / entry).as_posix().removeprefix("./"))
    assert pages - listed == set()
