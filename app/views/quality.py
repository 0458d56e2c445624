"""Data & quality: when the data was refreshed, from which files, what was checked, downloads and
how to cite the source."""

from __future__ import annotations

import json
import re

import pandas as pd
import streamlit as st

from app import queries
from app.warehouse import mart_parquet, published

FILE_COLUMNS = ["edition", "what", "kind", "verdict", "matched", "name", "sha256"]
WHAT = {  # each kind of release file, as a reader names it
    "origin_destination": "Migrants by origin and destination (corridors)",
    "destination": "Immigrants and population by country (destination totals)",
    "origin": "Emigrants by country (origin totals)",
    "classification": "Countries and regions (UN DESA's classification)",
    "m49": "Country codes and regions (UNSD's M49 list)",
}
SERVER_PATH = re.compile(r"\s(?:in|at|from)?\s*/(?:[^\s/]+/)*[^\s/]*")
KIND_WORDS = {
    "official tables": "are facts of the official tables",
    "mirror reconstruction": "belong to the mirror's reconstructions, not the official files",
    "unverified source": "come from a third-party copy nobody has checked (published, marked unverified)",
}


def without_paths(line: str) -> str:
    """A run's message as a reader sees it: without the server's folders (`not in the mirror
    /srv/...` becomes `not in the mirror`)."""
    return SERVER_PATH.sub("", line)


st.title("Data & quality")
runs = queries.pipeline_runs()
# the run that built this version; runs that found nothing changed are counted, not shown
last = runs[runs["status"] == "success"].iloc[0]
unchanged = int((runs["status"] == "unchanged").sum())
current = published()
cols = st.columns([2, 1, 2])
cols[0].metric("Last refresh (UTC)", pd.Timestamp(last["finished_at"]).strftime("%Y-%m-%d %H:%M"))
cols[1].metric("Status", str(last["status"]))
editions = sorted(last["editions"])
cols[2].metric(
    "Editions",
    f"{len(editions)} ({editions[0]}–{editions[-1]})" if len(editions) > 1 else editions[0],
    help=", ".join(editions),
)
st.caption(
    f"Published version {current.version if current else '?'}; "
    f"{len(runs)} {'refresh' if len(runs) == 1 else 'refreshes'} recorded"
    + (f", {unchanged} of which found no source file changed." if unchanged else ".")
)
for line in last["missing_files"]:
    st.warning(f"Missing: {without_paths(line)}")
for line in last["warnings"]:
    st.warning(without_paths(line))

st.subheader("Source files")
files = pd.DataFrame(json.loads(last["input_files"]))
files["what"] = files["kind"].map(WHAT).fillna(files["kind"])
files = files.reindex(columns=[*FILE_COLUMNS, "status"])
missing = files["status"] == "missing"
files.loc[missing, "verdict"] = "file missing"
files.loc[missing, ["matched", "sha256"]] = "—"  # nothing to match: a blank cell would read "None"
st.dataframe(
    files[FILE_COLUMNS],
    hide_index=True,
    column_config={
        "what": st.column_config.TextColumn("File", width="large"),
        "kind": None,  # the catalogue's name for it; "File" says it in words
        "name": "File name",
        "verdict": "Version",
        "matched": st.column_config.TextColumn("Identity matched", width="large"),
        "sha256": "SHA-256",
    },
)
st.caption(
    "**Version** says which version of the file was used. *official*: its checksum matches one computed here "
    "from the official file; *official (matches …)*: it matches a third party's record of an official download "
    "(its MD5 and size, or a git blob); *reconstruction* and *re-saved copy*: a known stand-in, not the official "
    "bytes (its figures are the official ones, but read them with that in mind); *accepted new version*: a version "
    "the catalogue did not know, accepted by an operator and checked like any file; *unverified*: nothing is "
    "known of that file to check it against."
)

st.subheader("Quality checks")
quality = queries.quality_results()
if quality.empty:
    st.info("No quality results were recorded with this version.")
else:
    passed = int(quality["success"].sum())
    dbt_passed, dbt_failed = int(last["checks_passed"]), int(last["checks_failed"])
    st.markdown(
        f"**{passed} of {len(quality)}** Great Expectations checks passed in "
        f"{quality['suite'].nunique()} suites, and **{dbt_passed}** dbt tests ({dbt_failed} failed), "
        "including the reconciliation of every origin-destination sum with the official totals. "
        "A refresh whose checks fail is never published."
    )
    summary = (
        quality.groupby("suite", as_index=False)
        .agg(checks=("success", "size"), passed=("success", "sum"))
        .assign(ok=lambda d: d["checks"] == d["passed"])
    )
    st.dataframe(summary, hide_index=True, column_config={"ok": st.column_config.CheckboxColumn("All passed")})
    with st.expander("Every check"):
        st.dataframe(quality, hide_index=True)

st.subheader("Known discrepancies of the official tables")
known = queries.known_discrepancies()
if known.empty:
    st.info("No known discrepancy is listed for the files this version was built from.")
else:
    still = int(known["success"].sum())
    kinds = known.groupby("about").size().to_dict()
    st.markdown(
        f"The tables disagree with each other in **{len(known):,}** listed places: an origin-destination total "
        "that differs from the totals workbook, a sex split that does not add up, more immigrants than "
        "inhabitants. "
        + "; ".join(f"**{kinds[kind]:,}** {words}" for kind, words in KIND_WORDS.items() if kind in kinds)
        + ". Nothing is corrected: each is listed with both figures and its reason in a reviewed file "
        "(`dbt_project/seeds/known_discrepancies.csv`), the checks accept exactly these, and any other "
        f"disagreement stops a refresh. {still:,} of {len(known):,} were found exactly as listed in this version."
    )
    for release in known["release"].drop_duplicates():
        mine = known[known["release"] == release]
        with st.expander(f"Edition {release}: {len(mine):,} known discrepancies"):
            st.dataframe(
                mine.drop(columns=["release"]),
                hide_index=True,
                column_config={
                    "about": "A fact of",
                    "check_name": "Check",
                    "location": "Location",
                    "observed": "Year, sex: the two figures",
                    "success": st.column_config.CheckboxColumn("As listed"),
                    "why": st.column_config.TextColumn("Reason (source)", width="large"),
                },
            )

st.subheader("Download the marts")
mart = st.selectbox("Mart", queries.MARTS)
left, right = st.columns(2)
left.download_button(
    "CSV",
    data=lambda: queries.whole_mart(mart).to_csv(index=False).encode(),
    file_name=f"{mart}.csv",
    mime="text/csv",
    on_click="ignore",
)
right.download_button(
    "Parquet",
    data=lambda: mart_parquet(mart),
    file_name=f"{mart}.parquet",
    mime="application/vnd.apache.parquet",
    on_click="ignore",
)
docs = current.warehouse.parent / "docs" / "static_index.html" if current else None
if docs is not None and docs.is_file():
    st.download_button(
        "Documentation of every mart and column (dbt docs, one HTML page that opens offline)",
        data=docs.read_bytes,
        file_name="migration-corridors-docs.html",
        mime="text/html",
        on_click="ignore",
    )
st.caption("Each mart's and column's description is also a comment in the warehouse (duckdb_columns()).")

st.subheader("Source and licence")
releases = queries.releases()
for r in releases.itertuples(index=False):
    sexes = (
        ""
        if not r.has_corridors
        else (
            " Its origin-destination table here gives both sexes only." if list(r.corridor_sexes) == ["total"] else ""
        )
    )
    st.markdown(f"**{r.release} edition.** {r.citation} *Terms:* {r.licence}.{sexes}")
st.caption("Figures for one year are not comparable across editions; see Revisions.")
