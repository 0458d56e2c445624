"""Migration corridors: the published marts for readers (`streamlit run app/streamlit_app.py`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.warehouse import published
from flows.settings import SettingsError, load_settings

VIEWS = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="Migration corridors", page_icon="🌍", layout="wide")

pages = [
    st.Page(VIEWS / "overview.py", title="Overview", default=True),
    st.Page(VIEWS / "corridors.py", title="Corridors"),
    st.Page(VIEWS / "country.py", title="Country profile"),
    st.Page(VIEWS / "compare.py", title="Compare countries"),
    st.Page(VIEWS / "balance_map.py", title="Balance map"),
    st.Page(VIEWS / "revisions.py", title="Revisions"),
    st.Page(VIEWS / "quality.py", title="Data & quality"),
]
navigation = st.navigation(pages)

try:
    settings = load_settings()
except SettingsError as exc:
    st.title("Migration corridors")
    st.error(f"The app's settings cannot be used: {str(exc).removeprefix('invalid settings: ')}")
    st.stop()

if published() is None:
    st.title("Migration corridors")
    st.info(
        f"Nothing has been published in {settings.root} yet. Run a refresh first:\n\n"
        "```sh\nuv run migration-etl run --source-dir ../shared/data/undesa/mirror\n```\n\n"
        "then reload this page (set `MIGRATION_ETL_DATA_DIR` if the data directory is elsewhere)."
    )
    st.stop()

navigation.run()
