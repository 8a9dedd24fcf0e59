"""Files written by LibreOffice headless, as a department's share holds them.

The tests make a .docx, .xlsx or .pptx with python-docx, openpyxl or python-pptx, then
have LibreOffice save it in another format (.odt, .ods, .odp, .doc, .xls, .ppt, .rtf).
Each call uses a private profile folder, so runs side by side never share one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.system import require

PACKAGES = {
    "odt": "libreoffice-writer-nogui",
    "doc": "libreoffice-writer-nogui",
    "rtf": "libreoffice-writer-nogui",
    "ods": "libreoffice-calc-nogui",
    "xls": "libreoffice-calc-nogui",
    "odp": "libreoffice-impress-nogui",
    "ppt": "libreoffice-impress-nogui",
}
# A file each package installs: LibreOffice's core converts only what its modules read.
_MODULES = {
    "libreoffice-writer-nogui": Path("/usr/lib/libreoffice/program/libswlo.so"),
    "libreoffice-calc-nogui": Path("/usr/lib/libreoffice/program/libsclo.so"),
    "libreoffice-impress-nogui": Path("/usr/lib/libreoffice/program/libsdlo.so"),
}
# "ppt" alone makes LibreOffice pick no export filter for a presentation.
_FILTERS = {"ppt": "ppt:MS PowerPoint 97", "xls": "xls:MS Excel 97", "doc": "doc:MS Word 97"}


def convert(sources: list[Path], target: str, folder: Path) -> list[Path]:
    """Save each source as ``target`` ("odt", "xls", ...) in ``folder`` with LibreOffice.

    Skips the calling test when the LibreOffice module for ``target`` is not installed.
    """
    package = PACKAGES[target]
    require("soffice", package)
    require(_MODULES[package], package)
    folder.mkdir(parents=True, exist_ok=True)
    profile = folder / ".libreoffice-profile"
    command = [
        "soffice",
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--convert-to",
        _FILTERS.get(target, target),
        "--outdir",
        str(folder),
        *map(str, sources),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    made = [folder / f"{source.stem}.{target}" for source in sources]
    missing = [path.name for path in made if not path.exists()]
    assert not missing, f"LibreOffice did not write {missing}: {done.stdout}{done.stderr}"
    return made
