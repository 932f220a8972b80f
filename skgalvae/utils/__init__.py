"""Helpers shared by the package's modules; none is public API.

``_units`` (astropy quantities in, plain numbers out), ``_domains``
(``sample_domain`` arrays), ``_steps`` (taking a Pipeline apart),
``_rows`` (which rows a check reads), ``_progress`` (bars and log lines) and
``_lazy_imports`` (attributes imported on first use). They import nothing
else from skgalvae.
"""
