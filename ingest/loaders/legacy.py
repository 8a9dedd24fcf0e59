"""Old binary Office files (.doc, .xls, .ppt) and RTF, read through LibreOffice.

These formats are decades of undocumented binary structures; rather than a parser of
our own, LibreOffice headless (Debian's ``libreoffice-*-nogui``) saves the file as
.docx, .xlsx or .pptx in a private temporary folder, and the loader of that format
reads the copy: headings, lists, tables, sheets and slides come out as they do for
the modern files, hidden text and rows left out alike.

LibreOffice is told the format to read: left to guess, it takes a damaged file for
plain text and writes its bytes out as words. The file's first bytes say which: an old
Office file, RTF under a .doc name (as Word long saved it), or a newer .docx, .xlsx or
.pptx under the old name, which is read as what it is without LibreOffice. Files older
than these formats (Word 6 and 95, Excel 5 and 95) are refused with the fix, to save
them again in a current one.

The conversion runs inside the parser worker, so it is bounded by the same memory cap
and killed with the worker's process group when the file's time runs out. Each call
starts LibreOffice on a fresh profile of its own (no lock shared with other workers or
a desktop session) that keeps macros from running and linked content from being
fetched: nothing in a document makes Docent reach the network.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.document import LoaderError, ParsedDocument
from ingest.loaders.docx import load_docx
from ingest.loaders.pptx import load_pptx
from ingest.loaders.xlsx import load_xlsx

_SNIFF_BYTES = 16
_OLE, _ZIP, _RTF = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK\x03\x04", b"{\\rtf"
_RTF_LEAD = b"\xef\xbb\xbf \t\r\n"

CONVERT_SECONDS = 100.0
"""Time LibreOffice may take to convert one file (under the worker's default 120 s)."""

# LibreOffice's own settings for the private profile: the highest macro security with
# macros off, and links to other files or URLs never updated (Writer: 2 is "never";
# Calc: 1 is "never"), so a converted document cannot reach outside its own bytes.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting">
 <prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting">
 <prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting">
 <prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update">
 <prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update">
 <prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
</oor:items>
"""


@dataclass(frozen=True)
class _Kind:
    """A legacy format: what it is, what it becomes, and who reads it then."""

    name: str  # "Word 97-2003 document"
    source: str  # LibreOffice's import filter for it (--infilter)
    target: str  # LibreOffice's --convert-to argument
    suffix: str  # the converted file's extension
    loader: Callable[[Path], ParsedDocument]
    package: str  # the Debian package holding LibreOffice's module for it
    program: str  # the program that saves it again as the modern format


_WORD = ("docx:MS Word 2007 XML", ".docx", load_docx, "libreoffice-writer-nogui", "Word")
_KINDS = {
    ".doc": _Kind("Word 97-2003 document", "MS Word 97", *_WORD),
    ".rtf": _Kind("RTF document", "Rich Text Format", *_WORD),
    ".xls": _Kind(
        "Excel 97-2003 workbook",
        "MS Excel 97",
        "xlsx:Calc MS Excel 2007 XML",
        ".xlsx",
        load_xlsx,
        "libreoffice-calc-nogui",
        "Excel",
    ),
    ".ppt": _Kind(
        "PowerPoint 97-2003 presentation",
        "MS PowerPoint 97",
        "pptx:Impress MS PowerPoint 2007 XML",
        ".pptx",
        load_pptx,
        "libreoffice-impress-nogui",
        "PowerPoint",
    ),
}


def load_legacy(path: Path) -> ParsedDocument:
    """Read a .doc, .xls, .ppt or .rtf file by converting it with LibreOffice headless.

    Args:
        path: The file.

    Returns:
        The parsed document, as the loader of the converted format reads it (a page per
        sheet or slide), titled by its properties or the original file's name.

    Raises:
        LoaderError: LibreOffice is not installed, cannot read the file (damaged,
            password-protected, or not that format), or took too long.
    """
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    kind = _KINDS[suffix]
    if head.startswith(_ZIP) and suffix != ".rtf":
        return _read_as_modern(path, kind)
    if head.lstrip(_RTF_LEAD).startswith(_RTF) and suffix in (".doc", ".rtf"):
        kind = _KINDS[".rtf"]  # Word long saved RTF under a .doc name
    elif suffix == ".rtf":
        raise LoaderError(
            "this .rtf file is not RTF (it does not start with {\\rtf); rename it with the "
            "extension of its real type"
        )
    elif not head.startswith(_OLE):
        raise LoaderError(
            f"this {suffix} file is not an {kind.name} (its content is neither an old nor a "
            "new Office file); rename it with the extension of its real type"
        )
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise LoaderError(
            f"reading {suffix} files needs LibreOffice, which is not installed here: install "
            f"it (apt-get install {kind.package}), or save {path.name} as "
            f"{kind.suffix} in {kind.program} or LibreOffice"
        )
    with tempfile.TemporaryDirectory(prefix="docent-convert-") as folder:
        work = Path(folder)
        # A plain name: LibreOffice reads some characters in a path as options or URLs.
        source = work / f"source{suffix}"
        shutil.copyfile(path, source)
        converted = _convert(soffice, source, kind, work)
        document = kind.loader(converted)
    if document.title == converted.stem:
        document.title = path.stem
    return document


def _read_as_modern(path: Path, kind: _Kind) -> ParsedDocument:
    """Read a newer Office file saved under the old name (a .docx named .doc) as it is."""
    with tempfile.TemporaryDirectory(prefix="docent-convert-") as folder:
        # Its reader goes by the extension (openpyxl refuses a workbook named .xls).
        copy = Path(folder) / f"source{kind.suffix}"
        shutil.copyfile(path, copy)
        document = kind.loader(copy)
    if document.title == copy.stem:
        document.title = path.stem
    document.notes.append(
        f"the file is a {kind.suffix} saved under a {path.suffix.lower()} name; read as "
        f"{kind.suffix}"
    )
    return document


def _convert(soffice: str, source: Path, kind: _Kind, work: Path) -> Path:
    """Run LibreOffice on ``source``; the converted file it wrote.

    Raises:
        LoaderError: It failed, wrote nothing, or ran out of time.
    """
    profile = work / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS, "utf-8")
    out = work / "out"
    command = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        "--nolockcheck",
        f"--infilter={kind.source}",
        "--convert-to",
        kind.target,
        "--outdir",
        str(out),
        str(source),
    ]
    fix = f"open it in {kind.program} or LibreOffice and save it again as {kind.suffix}"
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CONVERT_SECONDS,
            check=False,
            env=_environment(work),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise LoaderError(
            f"LibreOffice took longer than {CONVERT_SECONDS:g} s to read this {kind.name} and "
            f"was stopped (a damaged file or one crafted to hang it); {fix}"
        ) from exc
    converted = out / f"{source.stem}{kind.suffix}"
    if not converted.exists():
        errors = [line for line in (done.stderr + done.stdout).splitlines() if "Error" in line]
        said = " ".join(" ".join(errors).split())[-300:]
        raise LoaderError(
            f"LibreOffice could not read this file as a {kind.name} (it is damaged, "
            "password-protected, from an older version or of another type"
            f"{'; it said: ' + said if said else ''}); "
            f"{fix}"
        )
    return converted


def _environment(work: Path) -> dict[str, str]:
    """A bare environment: LibreOffice writes its caches under ``work``, sees no proxy."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "SAL_USE_VCLPLUGIN": "svp",
    }
