"""The Library page: upload files with per-file progress and outcomes, browse, delete, re-sync."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from app.ui import present, resources, wording
from ingest.quality import quality_from_notes
from ingest.report import shown
from models.errors import DocentError

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from app.api import Docent
    from ingest.report import FileOutcome, IngestReport
    from rag.types import DocumentRecord

REPORT = "ingest-report"
DELETE_CHOICE = "delete-choice"
DELETE_OPEN = "delete-open-dialog"
UPLOADER = "uploader-generation"
_WIDE_REASON = {"reason": st.column_config.TextColumn("reason", width="large")}
STOPPED = (
    "Stopped: the files added before Stop stay in the library, the others were left out. "
    "Add again to add them."
)


class PageProgress:
    """Ingest progress drawn on the page: a bar and one line per file.

    Each update is also where Streamlit stops the run when Stop is pressed, between files
    or inside one (see ``_ingest``).
    """

    def __init__(self, box: st.delta_generator.DeltaGenerator) -> None:
        self.box = box
        self.bar = box.progress(0.0, text="Looking at the files…")
        self.files = 0
        self.done = 0
        self.chunks = 0

    def start(self, files: int) -> None:
        """The run will look at ``files`` files."""
        self.files = files

    def file_done(self, outcome: FileOutcome) -> None:
        """A file reached its outcome."""
        self.done += 1
        self.bar.progress(self.done / max(self.files, 1), text=f"{self.done} of {self.files} files")
        why = wording.reasons(outcome)
        reason = f": {why}" if why else ""
        self.box.markdown(present.escape(f"{outcome.status} {shown(outcome.source)}{reason}"))

    def chunks_done(self, count: int) -> None:
        """``count`` more chunks were stored."""
        self.chunks += count
        self.bar.progress(
            self.done / max(self.files, 1),
            text=f"{self.done} of {self.files} files, {self.chunks} passages stored",
        )


def page() -> None:
    """Render the Library page."""
    st.title("Library")
    docent = resources.docent()
    collection = resources.collection_picker(docent)
    user = resources.current_user()
    admin = user.is_admin
    if docent.may_add(collection, user=user):
        _upload_section(docent, collection)
    else:  # a reader: no upload control, and whom to ask
        st.caption("You can read this collection. To add documents to it, ask your administrator.")
    if admin:
        _sync_section(docent, collection)
    report = st.session_state.get(REPORT)
    if report is not None and report.collection == collection:
        show_report(report)
    _documents_section(docent, collection, admin)


def _upload_section(docent: Docent, collection: str) -> None:
    from ingest.loaders import SUFFIXES

    st.subheader("Add documents")
    limit = docent.settings.upload_max_mb
    generation = st.session_state.setdefault(UPLOADER, 0)
    files = st.file_uploader(
        f"PDF, Word, HTML, Markdown or text, up to {limit} MB each",
        type=sorted(suffix.lstrip(".") for suffix in SUFFIXES),
        accept_multiple_files=True,
        key=f"uploader-{generation}",
    )
    st.caption(present.escape(who_will_see(collection, docent.readers(collection))))
    with st.container(horizontal=True):
        add = st.button(
            f"Add to {present.escape(collection)}",
            type="primary",
            disabled=not files,
            icon=":material/upload:",
        )
        stop = st.button("Stop", icon=":material/stop_circle:", help="Stop adding files")
    if stop:
        st.info(STOPPED, icon=":material/stop_circle:")
    if add and files:
        report = _ingest_uploads(docent, collection, files)
        if report is not None:
            st.session_state[REPORT] = report
            st.session_state[UPLOADER] = generation + 1
            st.rerun()


def who_will_see(collection: str, readers: list[str]) -> str:
    """The line under the upload control: who will be able to read what is added."""
    if not readers:
        return f"Files added to {collection} are seen by administrators only."
    names = [f"everyone in {r[1:]}" if r.startswith("@") else r for r in readers]
    return f"Files added to {collection} are seen by {', '.join(names)} and the administrators."


def _ingest_uploads(
    docent: Docent, collection: str, files: list[UploadedFile]
) -> IngestReport | None:
    """Save the uploads in Docent's uploads folder and ingest them; None if it failed."""
    user = resources.current_user()
    try:
        placement = docent.save_uploads(collection, files, user=user)
    except DocentError as error:
        resources.show_error(error)
        return None
    doing = f"Adding {len(files)} files to {present.escape(collection)}…"
    return _ingest(
        docent,
        collection,
        doing,
        lambda progress: docent.ingest_uploads(placement, collection, progress=progress, user=user),
    )


def _ingest(
    docent: Docent, collection: str, doing: str, run: Callable[[PageProgress], IngestReport]
) -> IngestReport | None:
    """Run an ingest with its progress in a status box labelled ``doing``; None if it failed.

    Stop ends the run at its next progress update, which may fall inside a file. That
    file's chunks are then taken out at once, so the index never holds half a document.
    """
    st.session_state.pop(REPORT, None)
    # Read before the run: once Stop is pressed, every Streamlit call raises again.
    user = resources.current_user()
    with st.status(doing, expanded=True) as box:
        try:
            report = run(PageProgress(box))
        except DocentError as error:
            box.update(label="The files could not be added", state="error")
            resources.show_error(error)
            return None
        except BaseException:
            # A writer in another process will repair it itself when it starts.
            docent.recover(collection, user=user)
            raise
        box.update(label="Done", state="complete", expanded=False)
    return report


def show_report(report: IngestReport) -> None:
    """The per-file outcome table of the last ingest, as the CLI reports it."""
    tone, headline = present.report_headline(report)
    (st.warning if tone == "warning" else st.success)(present.escape(headline))
    rows = wording.upload_rows(report)
    st.dataframe(rows, hide_index=True, key="report", column_config=_WIDE_REASON)
    # A long reason is cut at the cell's edge: the ones that need doing something are
    # said again in full under the table.
    for row in rows:
        if row["outcome"] == "failed" and row["reason"]:
            st.caption(present.escape(f"{row['file']}: {row['reason']}."))


def _sync_section(docent: Docent, collection: str) -> None:
    folder = docent.settings.sync_folder
    if folder is None:
        return
    st.subheader("Shared folder")
    st.caption(present.escape(f"Configured by the administrator: {folder}"))
    if not st.button(f"Re-sync into {present.escape(collection)}", icon=":material/sync:"):
        return
    doing = f"Syncing {present.escape(str(folder))}…"
    user = resources.current_user()
    report = _ingest(
        docent,
        collection,
        doing,
        lambda progress: docent.ingest(
            [folder], collection, prune=True, progress=progress, user=user
        ),
    )
    if report is not None:
        st.session_state[REPORT] = report
        st.rerun()


def _documents_section(docent: Docent, collection: str, admin: bool) -> None:
    st.subheader("Documents")
    try:
        records = docent.documents(collection, user=resources.current_user())
    except DocentError:
        records = []  # a collection typed in this session exists once something is added
    if not records:
        st.info(f"No documents in {present.escape(collection)} yet.", icon=":material/folder_off:")
        return
    query = st.text_input("Filter", placeholder="File name or title", key="library-filter")
    rows = present.document_rows(records, query)
    quality = {shown(record.source): quality_from_notes(record.notes) for record in records}
    rows = [{**row, "text quality": quality.get(str(row["file"]), "")} for row in rows]
    st.dataframe(rows, hide_index=True, key="documents", placeholder="")
    if not admin:
        return
    listed = {row["file"] for row in rows}
    shown_records = [r for r in records if shown(r.source) in listed]
    st.button(
        "Delete a document…", icon=":material/delete:", key="delete-open", on_click=_open_delete
    )
    if st.session_state.get(DELETE_OPEN):  # open until deleted, cancelled or dismissed
        _delete_dialog(docent, collection, shown_records)


def _open_delete() -> None:
    st.session_state[DELETE_OPEN] = True


def _close_delete() -> None:
    st.session_state.pop(DELETE_OPEN, None)
    st.session_state.pop(DELETE_CHOICE, None)


@st.dialog("Delete a document", on_dismiss=_close_delete)
def _delete_dialog(docent: Docent, collection: str, records: list[DocumentRecord]) -> None:
    """Choose a document, read what deleting it does, and confirm by its name.

    Nothing is chosen at first, and a delete closes the dialog: no second document
    stands under the button after the first one is gone.
    """
    by_source = {r.source: r for r in sorted(records, key=lambda r: r.source.lower())}
    source = st.selectbox(
        "Document",
        list(by_source),
        index=None,
        format_func=shown,
        placeholder="Choose the document to delete",
        key=DELETE_CHOICE,
    )
    if source is not None:
        _what_deleting_does(docent, collection, by_source[source])
    with st.container(horizontal=True):
        if source is not None and st.button(
            f"Delete {present.escape(shown(source))}", type="primary", icon=":material/delete:"
        ):
            _delete(docent, collection, source)
        if st.button("Cancel", key="delete-cancel"):
            _close_delete()
            st.rerun()


def _what_deleting_does(docent: Docent, collection: str, record: DocumentRecord) -> None:
    name = present.escape(shown(record.source))
    st.markdown(
        f"Deleting {name} removes it from {present.escape(collection)}: answers no longer quote it."
    )
    folder = docent.settings.sync_folder
    if folder is not None and _under(record.root, folder):
        st.warning(
            f"{name} comes from the shared folder: it comes back at the next re-sync "
            "unless it is removed from the folder.",
            icon=":material/sync:",
        )


def _under(root: str, folder: Path) -> bool:
    """Whether an ingest root is the shared folder or inside it."""
    return Path(root).resolve().is_relative_to(folder.resolve())


def _delete(docent: Docent, collection: str, source: str) -> None:
    try:
        docent.remove_document(collection, source, user=resources.current_user())
    except DocentError as error:
        resources.show_error(error)
        return
    _close_delete()
    st.toast(f"Deleted {present.escape(shown(source))}.")
    st.rerun()
