"""Chart shapes more than one page draws, so they look and read the same everywhere."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

# One colour per measure on every chart: immigrants orange, emigrants blue (as the balance index's
# bars: orange where immigrants outnumber emigrants, blue where emigrants do).
MEASURE_COLOURS = {"immigrants": "#e6550d", "emigrants": "#3182bd"}


def over_years(
    data: pd.DataFrame,
    value: str,
    title: str,
    series: str | None = None,
    height: int = 260,
    colours: dict[str, str] | None = None,
    number: str = ",",
    domain: tuple[float, float] | None = None,
) -> alt.Chart:
    """A value over reference years, one line per `series` value (legend below, in the data's order),
    exact in the tooltip (`number`: d3 format). A count (the default) is abbreviated on the axis
    (150M); `domain` fixes the axis (an index's −1 to +1). `colours` fixes each series' colour, else
    each gets its own (tableau10: no two read as a pair)."""
    tooltip: list[alt.Tooltip | str] = ["year:O", alt.Tooltip(f"{value}:Q", title=title, format=number)]
    axis = alt.Axis(format="~s") if number == "," else alt.Axis()
    fixed = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    encoding: dict[str, Any] = {
        "x": alt.X("year:O", title="Year", axis=alt.Axis(labelAngle=0)),
        "y": alt.Y(f"{value}:Q", title=title, axis=axis, scale=fixed),
    }
    if series is not None:
        if colours:
            scale = alt.Scale(domain=list(colours), range=list(colours.values()))
        else:
            scale = alt.Scale(domain=list(dict.fromkeys(data[series])), scheme="tableau10")
        encoding["color"] = alt.Color(
            f"{series}:N", title=None, scale=scale, legend=alt.Legend(orient="bottom", labelLimit=400)
        )
        tooltip.insert(0, f"{series}:N")
    chart: alt.Chart = alt.Chart(data).mark_line(point=True).encode(**encoding, tooltip=tooltip)
    return chart.properties(height=height)


def vintages(data: pd.DataFrame, value: str, title: str, height: int = 320) -> alt.Chart:
    """Every edition's estimate of one series, one line per `edition`, on a year axis to scale
    (editions estimate different reference years: 2017, 2019, 2024 ...)."""
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("year:Q", title="Year", axis=alt.Axis(format="d", labelAngle=0), scale=alt.Scale(zero=False)),
            y=alt.Y(f"{value}:Q", title=title, axis=alt.Axis(format="~s")),
            color=alt.Color("edition:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=400)),
            tooltip=["edition:N", alt.Tooltip("year:Q", format="d"), alt.Tooltip(f"{value}:Q", format=",")],
        )
    )
    return chart.properties(height=height)
