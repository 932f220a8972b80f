"""Download public data once into a local cache, checked against its checksum.

The scikit-learn ``fetch_*`` conventions: a ``data_home`` directory
(``$SKGALVAE_DATA``, else ``~/skgalvae_data``), a checksum for every file,
``download_if_missing``, and a clear error when offline. pooch does the
downloading: it writes to a temporary file and moves it into place only
once the checksum matches, so an interrupted or corrupt download never
leaves a file that looks complete.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

DATA_HOME_VARIABLE = "SKGALVAE_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """A published file: where it lives and what it must hash to.

    Attributes
    ----------
    name : str
        File name in the cache.
    url : str
        Where to download it.
    md5 : str
        Its published MD5 checksum.
    """

    name: str
    url: str
    md5: str


def get_data_home(data_home=None) -> Path:
    """Return the directory where skgalvae keeps downloaded data.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The directory; None uses ``$SKGALVAE_DATA``, else ``~/skgalvae_data``.
        Created if needed.

    Returns
    -------
    pathlib.Path
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_VARIABLE, "~/skgalvae_data")
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_intact(path, md5):
    import pooch

    return path.is_file() and pooch.file_hash(str(path), alg="md5") == md5


def fetch_file(remote: RemoteFile, directory, *, download_if_missing=True) -> Path:
    """Return the local path of ``remote``, downloading it if needed.

    Parameters
    ----------
    remote : RemoteFile
        The file.
    directory : path-like
        Where it is kept.
    download_if_missing : bool, default=True
        Download a file that is missing or fails its checksum; False raises
        instead.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OSError
        If the file is not here and may not be downloaded, or the download
        fails (no network, a server error, a cut connection); the message
        names the URL and where to put a copy by hand.
    ValueError
        If the downloaded file does not match its checksum (nothing is kept).
    """
    import pooch
    import requests

    directory = Path(directory)
    path = directory / remote.name
    if _is_intact(path, remote.md5):
        return path
    where = f"Place a copy of {remote.url} at {path}, or"
    if not download_if_missing:
        state = "fails its MD5 checksum" if path.exists() else "is not there"
        raise OSError(
            f"{path} {state} and download_if_missing=False. {where} pass "
            f"download_if_missing=True to download it."
        )
    try:
        fetched = pooch.retrieve(
            remote.url,
            known_hash=f"md5:{remote.md5}",
            fname=remote.name,
            path=directory,
            downloader=pooch.HTTPDownloader(progressbar=False, timeout=60),
        )
    except ValueError as exc:  # pooch: the hash does not match; file removed
        raise ValueError(
            f"The download of {remote.url} is corrupt: its MD5 checksum is not the "
            f"published {remote.md5} ({exc}). Nothing was kept; try again later."
        ) from exc
    except (requests.RequestException, OSError) as exc:
        raise OSError(
            f"Could not download {remote.url} ({type(exc).__name__}: {exc}). A "
            f"cut connection leaves nothing behind: run again to restart it. "
            f"{where} check your network."
        ) from exc
    return Path(fetched)


def extract_archive(archive, directory, *, marker) -> Path:
    """Extract a tar archive into ``directory`` once; ``marker`` records it.

    Members that would land outside ``directory`` (absolute paths, ``..``,
    links out) are refused, as Python's ``"data"`` extraction filter does.

    Parameters
    ----------
    archive : path-like
        A ``.tar``, ``.tar.gz`` or ``.tar.xz`` file.
    directory : path-like
        Where to extract.
    marker : str
        Name of the file written in ``directory`` after a complete
        extraction; an extraction cut short is redone.

    Returns
    -------
    pathlib.Path
        ``directory``.
    """
    directory = Path(directory)
    done = directory / marker
    if done.exists():
        return directory
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(directory, filter="data")
        except TypeError:  # Python without extraction filters
            root = directory.resolve()
            for member in tar.getmembers():
                target = (directory / member.name).resolve()
                if root not in (target, *target.parents) or member.issym():
                    raise ValueError(
                        f"{archive} holds {member.name!r}, outside the extraction "
                        f"directory; refusing to extract it."
                    ) from None
            tar.extractall(directory)
    done.write_text(str(archive))
    return directory
