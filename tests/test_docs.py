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
    "ARCHITECTURES", "LIKELIHOODS", "ADAPTATIONS", "FORMATS", "N_POSES", "POSE_NAMES",
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


def _python_blocks():
    """``(page, index, code)`` of every ```python block of the README and docs."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        if "_build" in page.parts:
            continue
        blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL)
        for index, code in enumerate(blocks):
            yield pytest.param(code, id=f"{page.relative_to(ROOT)}#{index}")


def _public_names():
    """Every public name of the public modules: snippets assume earlier imports."""
    names = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names.update({n: getattr(module, n) for n in getattr(module, "__all__", [])})
    return names


def _imported_names(tree):
    """``{name: object}`` of what a snippet imports from skgalvae."""
    import ast

    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "skgalvae"
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
                names[alias.asname or alias.name] = getattr(module, alias.name)
    return names


def _check_documented_signature(code):
    """A documented ``Name(a=1, *, b=2)`` has the real names and defaults."""
    import ast
    import inspect

    import skgalvae

    name = code[: code.index("(")].strip()
    documented = ast.parse(f"def _{code[code.index('(') :].strip()}: pass").body[0]
    real = inspect.signature(getattr(skgalvae, name)).parameters
    arguments = documented.args
    plain = arguments.args
    keyword = arguments.kwonlyargs
    defaults = [None] * (len(plain) - len(arguments.defaults)) + arguments.defaults
    pairs = list(zip(plain, defaults, strict=True))
    pairs += list(zip(keyword, arguments.kw_defaults, strict=True))
    assert [a.arg for a, _ in pairs] == list(real), name
    for argument, default in pairs:
        value = ast.literal_eval(default) if default is not None else None
        assert value == real[argument.arg].default, (name, argument.arg)


@pytest.mark.parametrize("code", _python_blocks())
def test_doc_snippets_call_what_exists_as_it_is_called(code):
    """Each snippet parses, its skgalvae imports exist, and every keyword it
    passes to a skgalvae class or function is one that it takes."""
    import ast
    import inspect

    if re.match(r"\w+\(.*\*,", code, re.DOTALL):  # a signature, as in a reference
        _check_documented_signature(code)
        return
    tree = ast.parse(code)
    names = _imported_names(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        target = names.get(node.func.id) or _public_names().get(node.func.id)
        if target is None or not callable(target):
            continue
        signature = inspect.signature(
            target.__init__ if inspect.isclass(target) else target
        )
        parameters = signature.parameters
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            continue
        for keyword in node.keywords:
            if keyword.arg is not None:  # not **options
                assert keyword.arg in parameters, (
                    f"{node.func.id}({keyword.arg}=...) in:\n{ast.unparse(node)}"
                )
