"""The code base stays ruff-clean."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_check_is_clean():
    result = subprocess.run(
        ["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Import names whose distribution is named otherwise.
_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "markdown_it": "markdown-it-py",
    "umap": "umap-learn",
}


def test_every_imported_package_is_declared():
    import ast
    import configparser
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = configparser.ConfigParser()
    config.read(root / "setup.cfg")
    declared = config["options"]["install_requires"] + "".join(
        config["options.extras_require"].values()
    )
    declared = declared.lower()
    imported = set()
    for path in (root / "skgalvae").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"skgalvae"}
    missing = sorted(
        name
        for name in third_party
        if _DISTRIBUTIONS.get(name, name).lower() not in declared
    )
    assert missing == [], f"imported but not declared in setup.cfg: {missing}"


def _relative_imports():
    """Module -> the skgalvae modules it imports (at any depth, lazy too)."""
    import ast
    from collections import defaultdict

    edges = defaultdict(set)
    for path in (ROOT / "skgalvae").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if parts[-1] == "__init__" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import name: the module name
                    edges[module].update(f"{target}.{a.name}" for a in node.names)
                else:
                    edges[module].add(target)
    return edges


def test_no_two_modules_import_each_other():
    edges = _relative_imports()
    # The walk sees imports, lazy ones (inside functions) too.
    assert "skgalvae.cli._common" in edges["skgalvae.cli._study"]
    assert "skgalvae.sharing" in edges["skgalvae.vae._base"]
    circles = sorted(
        {
            tuple(sorted((a, b)))
            for a, targets in edges.items()
            for b in targets
            if a != b and a in edges.get(b, ())
        }
    )
    assert circles == []


# The package's parts, lowest first: each imports only from its own layer's
# part and the layers below it. A part absent here fails the test, so a new
# subpackage is placed on purpose.
_LAYERS = (
    {"_version", "exceptions", "labels", "utils"},
    {"io"},
    {"nn"},
    {"preprocessing", "metrics", "plotting", "datasets"},
    {"vae"},
    {"sharing", "model_selection", "survey"},
    {"inspection"},
    {"study"},
    {"cli", "__main__", "_gallery", ""},
)

# Imports that go up a layer on purpose, each imported when called: an
# estimator's save_pretrained / load_pretrained methods are the sharing
# functions under another name.
_UPWARD_ON_PURPOSE = {("skgalvae.vae._base", "skgalvae.sharing")}


def _part(module):
    """``skgalvae.vae._base`` -> ``vae``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_module_imports_from_a_layer_above_its_own():
    layer = {part: level for level, parts in enumerate(_LAYERS) for part in parts}
    edges = _relative_imports()
    unplaced = sorted({_part(m) for m in edges} - set(layer))
    assert unplaced == [], f"put these parts in _LAYERS: {unplaced}"
    upward = sorted(
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if layer.get(_part(target), 0) > layer[_part(module)]
        and (module, target) not in _UPWARD_ON_PURPOSE
    )
    assert upward == []
    # The walk places what it sees: the estimators sit above the torch layer.
    assert layer["vae"] > layer["nn"] > layer["io"] > layer["utils"]
