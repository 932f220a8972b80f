"""A report written twice from one list of blocks: Markdown and HTML."""

from __future__ import annotations

import html
import json
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
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


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

    def markdown(self) -> str:
        """Render the report as Markdown."""
        lines = [f"# {self.title}", ""]
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

    def html(self) -> str:
        """Render the report as a standalone HTML page."""
        esc = html.escape
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{esc(self.title)}</title><style>",
            "body{font-family:sans-serif;max-width:60em;margin:2em auto}",
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;",
            "padding:2px 8px;text-align:right}img{max-width:100%}",
            "</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        for kind, content in self.blocks:
            if kind == "heading":
                parts.append(f"<h2>{esc(content)}</h2>")
            elif kind == "text":
                parts.append(f"<p>{esc(content)}</p>")
            elif kind == "table":
                columns, rows = content
                parts.append("<table><tr>")
                parts += [f"<th>{esc(c)}</th>" for c in columns]
                parts.append("</tr>")
                for r in rows:
                    cells = "".join(f"<td>{esc(_cell(v))}</td>" for v in r)
                    parts.append(f"<tr>{cells}</tr>")
                parts.append("</table>")
            else:
                filename, caption = content
                parts.append(
                    f"<figure><img src='{esc(filename)}' alt='{esc(caption)}'>"
                    f"<figcaption>{esc(caption)}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)

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
        paths["html"].write_text(self.html())
        paths["json"].write_text(
            json.dumps(results, indent=2, default=_json_default, allow_nan=True)
        )
        return paths
