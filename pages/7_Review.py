"""Review: the submitted sounds of a team's work, each annotator's regions in a lane of their own where they
disagree marked, the gold version made from them (one person's set, chosen regions, edited), accepted or returned
to one annotator with a comment."""

import streamlit as st

from core.accounts.permissions import Action
from core.catalogue.vocabulary import Vocabulary
from core.team.states import AssignmentState
from core.ui import review as review_ui
from core.ui import shell
from core.ui.waveform import waveform

st.set_page_config(page_title="Review · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Review", Action.REVIEW)
app = shell.earmark()
state = st.session_state

names = review_ui.datasets(app, user)
if not names:
    st.info("No dataset you may review has assigned work yet: hand out sounds on the Team page first.")
    st.stop()
dataset = st.selectbox("Dataset", names, key="review_dataset")
items = review_ui.queue_of(app, user, dataset)
ids = [item.sound_id for item in items]
wanted = st.query_params.get("sound")
sound_id = wanted or (state.get("review_sound") if state.get("review_sound") in ids else None) or (ids[0] if ids else None)
with st.expander(f"{len(items)} sound(s) waiting for review in {shell.plain(dataset)}", expanded=not wanted):
    review_ui.queue_table(items, sound_id)
if not sound_id:
    st.info("Nothing is waiting for review in this dataset: sounds come here when their annotators press Done.")
    st.stop()
state["review_sound"] = st.query_params["sound"] = sound_id


def go_next() -> None:
    """After a decision, the next sound waiting (the table's order), or none."""
    later = [i for i in ids if i != sound_id]
    if later:
        state["review_sound"] = st.query_params["sound"] = later[0]
    else:
        state.pop("review_sound", None)
        st.query_params.pop("sound", None)
    st.rerun()


found = shell.run(lambda: review_ui.desk(app, user, sound_id))
if found is None:
    st.stop()
sound = found.sound
st.subheader(shell.plain(f"{sound.dataset} / {sound.path}"))
st.caption(f"{len(found.people)} annotator(s) · {found.gold} region(s) in the gold version")
with app.db.read() as session:
    colors = Vocabulary(session).colors(sound.dataset)
asked = waveform(app.settings, user, sound, found.annotations, colors, key="review_waveform", review=found.people)
copied = review_ui.take_asked(app, user, sound.id, asked)
if copied is not None:
    shell.flash(f"{copied} region(s) taken into the gold version.")
    st.rerun()
st.caption("Each annotator's regions sit in their own lane, named at its left; a region with no match (overlap of at "
           "least half, a tag in common) in another person's lane is marked red, and red over the waveform shows where "
           "people disagree. Take one person's set with its button, or click regions in any lanes and take the chosen "
           "ones (G). The gold lane is edited like the Annotate page's regions (draw, move, resize, tag, Delete).")
review_ui.people_table(found)

take_cols = st.columns([2, 1])
who = take_cols[0].selectbox("Take every region of", [name for _, name in found.people], key="review_take_who")
if take_cols[1].button("Take into gold", key="review_take", width="stretch") and who:
    copied = review_ui.take_set(app, user, sound.id, who)
    if copied is not None:
        shell.flash(f"{copied} region(s) of {who} taken into the gold version.")
        st.rerun()

st.markdown("**Decide**")
decide = st.columns([2, 1])
empty = decide[0].checkbox("Accept with no regions (there is nothing to mark in this sound)", key="review_empty",
                           disabled=found.gold > 0)
if decide[1].button("Accept the gold version", key="review_accept", type="primary", width="stretch"):
    accepted = review_ui.accept(app, user, sound.id, empty)
    if accepted is not None:
        shell.flash(f"Accepted {sound.path}: its gold version ({found.gold} region(s)) is now the dataset's truth.")
        go_next()
submitted = [name for _, name in found.people if found.states.get(name) == AssignmentState.SUBMITTED]
if state.pop("review_comment_sent", False):  # set before the widget exists: a sent comment is not offered again
    state["review_comment"] = ""
back = st.columns([1, 2, 1])
to = back[0].selectbox("Return the work of", submitted, key="review_return_who",
                       help="Only submitted work can be returned; the annotator sees your comment on the Annotate page.")
comment = back[1].text_area("Comment for the annotator", key="review_comment", height=68,
                            placeholder="What should change, e.g. 'the second call at 4 s is missing'")
if back[2].button("Return with this comment", key="review_return", width="stretch", disabled=not submitted) and to \
        and review_ui.give_back(app, user, sound.id, to, comment):
    state["review_comment_sent"] = True
    shell.flash(f"Returned {sound.path} to {to} with your comment.")
    st.rerun()
