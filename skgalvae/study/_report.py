"""A report written twice from one list of blocks: Markdown and HTML."""

from __future__ import annotations

import base64
import html
import json
import mimetypes
from pathlib import Path

import numpy as np

__all__ = ["Report"]


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def _cell(value):
    """Show a number to what it means: three significant digits, ints whole."""
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return str(value)
        if abs(value) >= 100:  # whole: 1,440 rather than 1.44e+03
            return f"{round(value):,}"
        return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _embed_images(tokens, directory):
    """Point every image of ``tokens`` at its file's bytes, as a data URI."""
    for token in tokens:
        for child in token.children or ():
            if child.type == "image":
                path = directory / child.attrGet("src")
                kind = mimetypes.guess_type(path.name)[0] or "image/png"
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                child.attrSet("src", f"data:{kind};base64,{data}")


def _slug(text):
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to -."""
    kept = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return kept.strip().replace(" ", "-")


class Report:
    """Headings, paragraphs, tables and figures, rendered to Markdown and HTML.

    Parameters
    ----------
    title : str
        The report's title.
    """

    def __init__(self, title: str):
        self.title = title
        self.blocks: list = []

    def heading(self, text: str) -> None:
        """Start a section."""
        self.blocks.append(("heading", text))

    def text(self, text: str) -> None:
        """Add a paragraph (Markdown inline syntax is kept as is in HTML)."""
        self.blocks.append(("text", text))

    def table(self, columns, rows) -> None:
        """Add a table; floats get 3 decimals, None shows as "-"."""
        self.blocks.append(("table", (list(columns), [list(r) for r in rows])))

    def figure(self, filename: str, caption: str) -> None:
        """Add an image in the report directory, with a caption."""
        self.blocks.append(("figure", (filename, caption)))

    def insert(self, index: int, part: Report) -> None:
        """Insert another report's blocks before block ``index``."""
        self.blocks[index:index] = part.blocks

    def markdown(self) -> str:
        """Render the report as Markdown, with a table of contents."""
        headings = [content for kind, content in self.blocks if kind == "heading"]
        lines = [f"# {self.title}", ""]
        if headings:
            lines += ["**Contents**", ""]
            lines += [f"- [{h}](#{_slug(h)})" for h in headings]
            lines.append("")
        for kind, content in self.blocks:
            if kind == "heading":
                lines += [f"## {content}", ""]
            elif kind == "text":
                lines += [content, ""]
            elif kind == "table":
                columns, rows = content
                lines.append("| " + " | ".join(columns) + " |")
                lines.append("|" + "---|" * len(columns))
                lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
                lines.append("")
            else:
                filename, caption = content
                lines += [f"![{caption}]({filename})", "", f"*{caption}*", ""]
        return "\n".join(lines)

    def html(self, figures_dir=None) -> str:
        """Render the Markdown as a standalone HTML page (markdown-it-py).

        Headings get the same anchors as on GitHub, so the table of contents
        links work in both.

        Parameters
        ----------
        figures_dir : path-like or None, default=None
            Where the figures are: each is then embedded in the page (a
            base64 ``data:`` URI), so the page can be sent on its own. None
            links them by file name.
        """
        from markdown_it import MarkdownIt

        parser = MarkdownIt("commonmark", {"html": False}).enable("table")
        tokens = parser.parse(self.markdown())
        for token, inline in zip(tokens, tokens[1:], strict=False):
            if token.type == "heading_open":
                token.attrSet("id", _slug(inline.content))
        if figures_dir is not None:
            _embed_images(tokens, Path(figures_dir))
        body = parser.renderer.render(tokens, parser.options, {})
        style = (
            "body{font-family:system-ui,sans-serif;max-width:62em;margin:2em auto;"
            "padding:0 1em;line-height:1.45}"
            "table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:2px 8px}"
            "td{text-align:right}td:first-child{text-align:left}"
            "img{max-width:100%;display:block;margin:0 auto}"
            "p em:only-child{display:block;text-align:center;color:#555}"
            "code{background:#f4f4f4;padding:0 3px}"
        )
        return (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{style}</style>"
            f"</head><body>\n{body}</body></html>\n"
        )

    def write(self, directory, results: dict) -> dict:
        """Write ``report.md``, ``report.html`` and ``results.json``.

        Parameters
        ----------
        directory : path-like
            The report directory (figures already in it).
        results : dict
            Every number of the run.

        Returns
        -------
        dict
            The written paths by kind.
        """
        directory = Path(directory)
        paths = {
            "markdown": directory / "report.md",
            "html": directory / "report.html",
            "json": directory / "results.json",
        }
        paths["markdown"].write_text(self.markdown())
        paths["html"].write_text(self.html(figures_dir=directory))
        paths["json"].write_text(
            json.dumps(results, indent=2, default=_json_default, allow_nan=True)
        )
        return paths
