"""File names as OGIP headers and XSPEC write them.

A name may carry an XSPEC selector, ``s1.pha{3}`` (row 3 of a PHA type II file) or
``s1.rsp{2}`` (the second matrix of a response); a relative name in a keyword is
relative to the folder of the file holding the keyword; ``none``/``NONE``/empty means
no file; and ``name`` resolves to ``name.gz`` when only the gzipped twin exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astropy.io import fits

from jointfit.errors import DataError

__all__ = ["FileName", "is_none", "parse_file_name", "open_fits"]

_SELECTOR = re.compile(r"^(?P<path>.*?)\{(?P<index>\d+)\}$")


@dataclass(frozen=True)
class FileName:
    """A resolved file name and its optional XSPEC selector (1-based)."""

    path: Path
    selector: int | None = None

    def __str__(self) -> str:
        return f"{self.path}{{{self.selector}}}" if self.selector is not None else str(self.path)


def is_none(value: Any) -> bool:
    """True for ``None`` and the OGIP spellings of "no file" ('', 'none', 'NONE')."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none"))


def parse_file_name(name: str | os.PathLike[str], relative_to: Path | None = None,
                    keyword: str | None = None) -> FileName:
    """Resolve ``name`` (with an optional ``{n}`` selector) to an existing file.

    Parameters
    ----------
    name : str or path
        File name as given by the user or found in a keyword.
    relative_to : Path, optional
        Folder that a relative name is relative to (the folder of the PHA file whose
        keyword gave it).
    keyword : str, optional
        The keyword or argument the name came from, for error messages.

    Raises
    ------
    DataError
        If the file (nor its ``.gz`` twin) does not exist.
    """
    text = os.fspath(name).strip()
    selector = None
    match = _SELECTOR.match(text)
    if match:
        text, selector = match["path"], int(match["index"])
        if selector < 1:
            raise DataError(f"{name!s}: the selector {{{selector}}} must be 1 or more")
    path = Path(text).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if not path.exists():
        gzipped = path.with_name(path.name + ".gz")
        if gzipped.exists():
            path = gzipped
        else:
            origin = f"{keyword} names" if keyword else "file"
            hint = ""
            if keyword in ("BACKFILE", "RESPFILE", "ANCRFILE"):
                argument = {"BACKFILE": "background", "RESPFILE": "response", "ANCRFILE": "arf"}[keyword]
                hint = (f"; pass {argument}=<path> to use another file, or {argument}=None "
                        "explicitly to use none")
            raise DataError(f"{origin} {str(path)!r}, which does not exist in {str(path.parent.resolve())!r}"
                            f"{_near_names(path)}{hint}")
    return FileName(path, selector)


def open_fits(name: FileName) -> fits.HDUList:
    """Open a FITS file read-only (gzipped or not), as a context manager.

    Raises
    ------
    DataError
        If the file is not FITS.
    """
    try:
        return fits.open(name.path, mode="readonly", memmap=False)
    except OSError as exc:
        raise DataError(f"{name.path}: not a readable FITS file ({exc})") from None


def _near_names(path: Path) -> str:
    """``"; it holds 'x.pha', ..."`` with the folder's names closest to ``path``'s (a
    typo, a different extension), or what it holds when it is small."""
    import difflib

    try:
        names = sorted(entry.name for entry in path.parent.iterdir())
    except OSError:
        return " (a folder that cannot be read)" if path.parent.exists() else " (no such folder)"
    close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.8)
    if close:
        return f"; did you mean {', '.join(repr(name) for name in close)}?"
    return f"; it holds {', '.join(repr(name) for name in names)}" if 0 < len(names) <= 8 else ""
