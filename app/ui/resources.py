"""What the pages share: the one ``Docent`` of the process, per-session state, errors.

The ``Docent`` (embedder, index client, chat model) is a cached resource: built once per
process and settings, shared by every session, and warmed in a background thread so the
first page paints before the models are loaded. The sign-in page needs only the ``Gate``
(accounts and audit log), which loads in a fraction of a second; ``preload`` imports the
rest meanwhile. What belongs to one person (the conversation, the last summary) lives
only in ``st.session_state``.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from typing import TYPE_CHECKING

import streamlit as st

from app.ui import present, wording
from models.errors import DocentError

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from app.api import Docent
    from app.auth.accounts import Session, User
    from app.auth.gate import Gate
    from app.settings import Settings
    from models.embedder import Embedder, EmbedderConfig
    from rag.store import CollectionInfo

COLLECTION_KEY = "collection"
PICKER_KEY = "collection-picker"
SESSION_KEY = "session"


def resumed_user(gate: Gate) -> User | None:
    """The user of this session's sign-in, as the accounts file holds them now.

    None when nobody signed in, or the session expired or its account changed since
    (the stale session is dropped, so the sign-in page shows).
    """
    from app.auth.accounts import SessionExpired

    session = st.session_state.get(SESSION_KEY) or _from_cookie(gate)
    if session is None:
        return None
    try:
        user = gate.accounts.resume(session)
    except SessionExpired:
        st.session_state.pop(SESSION_KEY, None)
        return None
    st.session_state[SESSION_KEY] = session
    return user


def _from_cookie(gate: Gate) -> Session | None:
    """The session the browser's cookie stands for (a reload, a new tab), if still open."""
    from app.auth.accounts import SessionExpired
    from app.ui.cookies import COOKIE

    value = st.context.cookies.get(COOKIE)
    if not isinstance(value, str) or not value:  # no page connection (e.g. AppTest)
        return None
    try:
        return gate.sessions.resume(value, gate.accounts)
    except SessionExpired:
        return None


def current_user() -> User:
    """The signed-in person using this session, whom every page's access control serves.

    ``main.py`` shows the sign-in page first; a page reached without a valid session
    (it expired since) stops here, so no page ever runs for nobody.
    """
    user = resumed_user(gate())
    if user is None:
        st.warning("Your session has ended: sign in again.", icon=":material/lock:")
        if st.button("Sign in", icon=":material/login:"):
            st.rerun()
        st.stop()
    return user


@st.cache_resource(show_spinner=False, max_entries=4)
def _embedder(key: str, _config: EmbedderConfig) -> Embedder:
    from models.embedder import Embedder

    model = Embedder(_config)
    model.start_loading()
    return model


def _warm(docent: Docent) -> None:
    # Load the models now, not at the first question. A failure here is not reported:
    # the same failure is raised, with its fix, where the page uses the model.
    with contextlib.suppress(Exception):
        docent.embedder.model()
        if docent.settings.chat_backend == "llamacpp":
            docent.chat.preflight()


@st.cache_resource(show_spinner=False, max_entries=4)
def _docent(key: str, _settings: Settings) -> Docent:
    from app.api import Docent

    config = _settings.embedder_config()
    docent = Docent(_settings, embedder=_embedder(repr(config), config), gate=_gate(key, _settings))
    # Sessions run in threads of their own: create the lazily built parts here, once,
    # under the cache's lock (two Chroma clients created at once for one folder break).
    docent.answers  # noqa: B018 (builds the index client wrapper and the chat backend)
    docent.index.client  # noqa: B018
    threading.Thread(target=_warm, args=(docent,), daemon=True, name="docent-warm").start()
    return docent


@st.cache_resource(show_spinner=False, max_entries=4)
def _gate(key: str, _settings: Settings) -> Gate:
    from app.auth.gate import Gate

    return Gate(_settings)


def gate() -> Gate:
    """The process's accounts and audit log for the settings in force (light: no models)."""
    current = settings()
    return _gate(current.model_dump_json(), current)


@st.cache_resource(show_spinner=False)
def preload() -> threading.Thread:
    """Import the index client, models and chains in the background, once per process.

    The import takes seconds (chromadb, LangChain); started while the sign-in page paints,
    it is done by the time someone has typed a password.
    """
    thread = threading.Thread(target=_import_heavy, daemon=True, name="docent-preload")
    thread.start()
    return thread


# What the pages after sign-in use: the API imports most of these only where used.
HEAVY_MODULES = ("app.api", "rag.chroma_function", "rag.answer", "rag.summarize", "models.chat")


def _import_heavy() -> None:
    for name in HEAVY_MODULES:
        importlib.import_module(name)


def settings() -> Settings:
    """The settings in force (environment and ``docent.toml``), read on every run.

    Stops the page with the problem when they are invalid.
    """
    from app.settings import Settings

    try:
        return Settings.load()
    except DocentError as error:
        show_error(error)
        st.stop()


def docent() -> Docent:
    """The process's ``Docent`` for the settings in force, built on first use."""
    current = settings()
    return _docent(current.model_dump_json(), current)


def plain(text: str) -> str:
    """Text of an error or hint for the page: code marks become quotes, then escaped.

    Messages are written for the terminal, where `name` marks a name to type; on a page
    the backticks would show as they are.
    """
    return present.escape(wording.plain(text))


def show_error(error: DocentError) -> None:
    """Show a Docent error with its fix; a fix that is a server command goes to admins only."""
    st.error(plain(error.message), icon=":material/error:")
    if not error.hint:
        return
    user = resumed_user(gate()) if SESSION_KEY in st.session_state else None
    if "docent " in error.hint and (user is None or not user.is_admin):
        st.info("Ask your Docent administrator to fix this.", icon=":material/support_agent:")
    else:
        st.info("Fix: " + plain(error.hint), icon=":material/build:")


def landing(readable: list[str], last: str | None, configured: str) -> str:
    """The collection a session opens on: where the person works, never an empty page.

    The one they chose last, if they may still read it; else the configured collection,
    if they may read it; else the first they may read; else (nothing readable yet, as on
    a fresh install) the configured name.
    """
    for name in (last, configured):
        if name and name in readable:
            return name
    return readable[0] if readable else configured


def current_collection(docent: Docent, readable: list[str]) -> str:
    """The collection this person works in, the same on every page of the session.

    The truth is a plain session value, not a widget's: Streamlit keys a widget by the
    page it is on, so one picker per page would forget the choice at every page change.
    """
    from app.ui import last_collection

    chosen = st.session_state.get(COLLECTION_KEY)
    if not isinstance(chosen, str):
        last = last_collection.recalled(docent.settings.data_dir, current_user().name)
        chosen = landing(readable, last, docent.settings.collection)
        st.session_state[COLLECTION_KEY] = chosen
    return chosen


def choose_collection(docent: Docent, collection: str) -> None:
    """Make ``collection`` the session's, and the one the next sign-in opens on."""
    from app.ui import last_collection

    st.session_state[COLLECTION_KEY] = collection
    last_collection.remember(docent.settings.data_dir, current_user().name, collection)


def _keep_choice(docent: Docent) -> None:
    # Called before the next run: the picker's value becomes the session's collection.
    chosen = st.session_state.get(PICKER_KEY)
    if chosen:
        choose_collection(docent, chosen)


def collection_picker(
    docent: Docent, infos: list[CollectionInfo] | None = None, where: DeltaGenerator | None = None
) -> str:
    """The collection choice at the top of the page, listing the ones the user may read.

    Shown on the page itself rather than in the sidebar, so it is in reach on a phone.
    An administrator may type a new name (it exists once something is added to it).

    Args:
        docent: The process's ``Docent``.
        infos: The collections the user may see, when the page has listed them already.
        where: The container to draw it in (default: the page).
    """
    user = current_user()
    if infos is None:
        infos = docent.collections(user=user)
    names = sorted(info.name for info in infos)
    chosen = current_collection(docent, names)
    if chosen not in names:  # typed in this session, or nothing to read yet
        names.append(chosen)
    st.session_state[PICKER_KEY] = chosen
    (where or st).selectbox(
        "Collection",
        names,
        key=PICKER_KEY,
        on_change=_keep_choice,
        args=(docent,),
        accept_new_options=user.is_admin,
        help="The set of documents to search"
        + (" and to add to; type a name to start a new one." if user.is_admin else "."),
    )
    return chosen
