"""The sign-in page that comes before every other page, and the sidebar's sign-out.

A session (``app.auth.accounts.Session``) lives in ``st.session_state`` and, through an
HTTP-only cookie (``app.ui.cookies``), in the server's session store, so a reload or a
new tab resumes it; each run checks it against the accounts file, so an expired session,
a changed password or a removed account sends the person back here. Signing out ends
the session on the server. Where the site configured Streamlit's OIDC sign-in
(an ``[auth]`` section in ``secrets.toml``), the identity provider's verified user name
maps to the local account of the same name, with its role and groups. Where the site set
``ldap_url``, people sign in with their directory name and password (``Gate.sign_in``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.ui import cookies, present, resources

if TYPE_CHECKING:
    from app.auth.accounts import Session, User
    from app.auth.gate import Gate


HANDOFF = "cookie-code"


def require_user(gate: Gate) -> User:
    """The signed-in user; otherwise show the sign-in page and stop the run."""
    from app.auth.accounts import SignInError

    user = resources.resumed_user(gate)
    if user is not None:
        return user
    st.title("Sign in to Docent")
    st.markdown(
        "Docent answers questions from your organisation's own documents and shows the "
        "page each answer comes from. Nothing you ask leaves this building."
    )
    if gate.directory is not None:
        st.caption("Sign in with your organisation's user name and password.")
    else:
        st.caption("No account yet? Ask your Docent administrator (usually the IT service desk).")
    if not gate.accounts.users() and gate.directory is None:
        st.warning("Docent has no accounts yet.", icon=":material/person_off:")
        st.info(
            "Fix: an administrator creates the first one on the server: "
            "`docent users add NAME --admin`",
            icon=":material/build:",
        )
        resources.preload()
        st.stop()
    if _oidc_configured():
        _oidc_sign_in(gate)
    with st.form("sign-in"):
        # Account names are lowercase; people type them as they like.
        name = st.text_input("User", autocomplete="username").strip().lower()
        password = st.text_input("Password", type="password", autocomplete="current-password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                session = gate.sign_in(name, password)
            except SignInError as error:
                st.error(present.escape(error.message), icon=":material/error:")
            else:
                _open(gate, session)
    resources.preload()
    st.stop()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def _oidc_sign_in(gate: Gate) -> None:
    """Sign in through the site's identity provider, mapped to the local account."""
    from app.auth.accounts import SignInError

    if not st.user.is_logged_in:
        st.button("Sign in with your organisation", on_click=st.login, icon=":material/badge:")
        return
    claim = st.user.get("preferred_username") or st.user.get("email") or ""
    name = str(claim).split("@", 1)[0].lower()
    try:
        session = gate.sign_in_verified(name, provider="oidc")
    except SignInError as error:
        resources.show_error(error)
        return
    _open(gate, session)


def _open(gate: Gate, session: Session) -> None:
    """Start using ``session`` here, and have the browser keep it in the cookie."""
    st.session_state[resources.SESSION_KEY] = session
    value = gate.sessions.keep(session)
    st.session_state[HANDOFF] = cookies.handoff(value, gate.settings.session_minutes * 60)
    st.rerun()


def sidebar(user: User) -> None:
    """Who is signed in, and the button that signs out."""
    st.sidebar.caption(f"Signed in as **{present.escape(user.name)}** ({user.role})")
    code = st.session_state.get(HANDOFF)
    if code:
        st.sidebar.iframe(cookies.script(code), height="content")
    if st.sidebar.button("Sign out", icon=":material/logout:"):
        session = st.session_state.get(resources.SESSION_KEY)
        if session is not None:
            resources.gate().sign_out(session)
        st.session_state.clear()
        if _oidc_configured() and st.user.is_logged_in:
            st.logout()
        st.rerun()
