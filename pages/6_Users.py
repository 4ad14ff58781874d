"""Users: everyone edits their own profile; administrators create accounts, reset passwords, deactivate."""

import pandas as pd
import streamlit as st

from core.accounts import auth
from core.accounts.credentials import TokenService
from core.accounts.users import UserService, public_user
from core.store.models import USER_TYPES
from core.store.paging import PageRequest
from core.ui import shell

st.set_page_config(page_title="Users · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Users")
app = shell.earmark()

st.subheader("Your profile")
with st.form("profile"):
    email = st.text_input("Email (only you can see it)", value=user.email or "", key="profile_email")
    about = st.text_area("About me", value=user.about_me or "", key="profile_about")
    info_url = st.text_input("Info URL", value=user.info_url or "", key="profile_info_url")
    new_password = st.text_input("New password (leave empty to keep)", type="password", key="profile_password")
    repeat = st.text_input("Repeat the new password", type="password", key="profile_repeat")
    saved = st.form_submit_button("Save profile", key="profile_save")
if saved:
    def save_profile():
        auth.check_repeated(new_password, repeat)
        with app.db.write() as session:
            saved_user = UserService(session).update_profile(
                user, user.id, email=email, about_me=about, info_url=info_url, password=new_password or None
            )
        if new_password:
            shell.renew_login()  # your other browsers are logged out; this one stays
        return saved_user
    shell.run(save_profile, "Profile saved.")

st.subheader("API tokens")
st.caption("For bots and scripts: send `Authorization: Bearer <token>` to the HTTP API under /api/v1. "
           "A token is shown once; revoke it when it is no longer needed.")
with app.db.read() as session:
    my_tokens = TokenService(session).list(user, user.id)
if my_tokens:
    st.dataframe(pd.DataFrame([{"name": t.name, "created": t.date_created.strftime("%Y-%m-%d %H:%M"),
                   "last used": t.last_used.strftime("%Y-%m-%d %H:%M") if t.last_used else "never",
                   "revoked": t.revoked, "id": t.id} for t in my_tokens]), hide_index=True, key="tokens_table")
token_cols = st.columns([3, 1])
token_name = token_cols[0].text_input("Name of a new token (e.g. the bot that will use it)", key="token_name")
if token_cols[1].button("Create token", key="token_create", width="stretch"):
    def make_token():
        with app.db.write() as session:
            return TokenService(session).create(user, user.id, token_name)
    made = shell.run(make_token)
    if made is not None:
        st.success("Copy this token now; it is not shown again.")
        st.code(made[1], language=None)
live_tokens = {t.id: t.name for t in my_tokens if not t.revoked}
if live_tokens:
    revoke_cols = st.columns([3, 1])
    revoke_id = revoke_cols[0].selectbox("Token to revoke", list(live_tokens), format_func=live_tokens.get, key="token_revoke_choice")
    if revoke_cols[1].button("Revoke", key="token_revoke", width="stretch"):
        def revoke():
            with app.db.write() as session:
                TokenService(session).revoke(user, revoke_id)
        shell.run(revoke, f"Token {live_tokens[revoke_id]} revoked.", rerun=True)

if not user.is_admin:
    st.stop()

st.divider()
st.subheader("All accounts")
with app.db.read() as session:
    accounts = UserService(session).list(PageRequest(page_size=1000)).items
st.dataframe(
    pd.DataFrame([
        {"user": u.user_name, "type": u.user_type, "admin": u.is_admin, "active": u.is_active,
         "created": u.date_created.strftime("%Y-%m-%d"), "about": u.about_me or "", "id": u.id}
        for u in accounts
    ]),
    hide_index=True, key="users_table",
)

left, right = st.columns(2)
with left, st.form("create_user", clear_on_submit=True):
    st.markdown("**Create an account**")
    name = st.text_input("User name", key="new_user_name")
    user_type = st.selectbox("Type", USER_TYPES, key="new_user_type",
                             help="human: annotates; dataset: uploads and owns sounds; featurebot: an automated annotator")
    is_admin = st.checkbox("Administrator", key="new_user_admin")
    new_email = st.text_input("Email (optional)", key="new_user_email")
    password = st.text_input("Password (at least 8 characters)", type="password", key="new_user_password")
    created = st.form_submit_button("Create account", key="new_user_submit")
if created:
    def create():
        with app.db.write() as session:
            return UserService(session).create(user, name, password, user_type, is_admin=is_admin, email=new_email)
    shell.run(create, f"Account {name.strip()} created.", rerun=True)

with right:
    st.markdown("**Change an account**")
    names = {u.user_name: u for u in accounts}
    chosen_name = st.selectbox("Account", sorted(names), key="manage_user")
    chosen = names[chosen_name]
    st.caption(f"{chosen.user_type}, {'admin, ' if chosen.is_admin else ''}{'active' if chosen.is_active else 'deactivated'}")
    reset = st.text_input("New password", type="password", key="reset_password")
    if st.button("Reset password", key="reset_password_button"):
        def reset_password():
            with app.db.write() as session:
                return UserService(session).set_password(user, chosen.id, reset)
        shell.run(reset_password, f"Password of {chosen.user_name} reset.")
    label = "Reactivate" if not chosen.is_active else "Deactivate"
    if st.button(label, key="toggle_active_button"):
        def toggle():
            with app.db.write() as session:
                return UserService(session).set_active(user, chosen.id, not chosen.is_active)
        shell.run(toggle, f"{chosen.user_name} {'reactivated' if not chosen.is_active else 'deactivated'}.", rerun=True)
    admin_label = "Remove admin rights" if chosen.is_admin else "Make administrator"
    if st.button(admin_label, key="toggle_admin_button"):
        def toggle_admin():
            with app.db.write() as session:
                return UserService(session).set_role(user, chosen.id, is_admin=not chosen.is_admin)
        shell.run(toggle_admin, f"{chosen.user_name} {'is no longer' if chosen.is_admin else 'is now'} an administrator.", rerun=True)
    with st.expander("As others see it"):
        st.json(public_user(chosen, viewer=None))
