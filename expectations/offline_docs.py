"""Data Docs that read offline: Great Expectations' pages, with two of its templates replaced.

Its templates load jQuery, Bootstrap, bootstrap-table and an icon font from public CDNs, fill
every table from JavaScript and show pass/fail as an icon glyph, so on a machine without internet
(CI, an air-gapped server) the index listed nothing and the Status column was blank; its logo is
fetched from a remote URL carrying the data context id, and its footer asks for a newsletter. The
views here put `docs_views/` ahead of the package's templates: pages request nothing off the
machine, their look is a local stylesheet, tables are written into the HTML, each status says
"Succeeded" or "Failed" in words, and the logo comes from the site's own static folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from great_expectations.render.view.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import ChoiceLoader, FileSystemLoader

TEMPLATES = Path(__file__).resolve().parent / "docs_views"
MODULE = __name__


def _templates_first(env: Any) -> None:
    loader = env.loader
    assert isinstance(loader, ChoiceLoader)
    loader.loaders = [FileSystemLoader(str(TEMPLATES)), *loader.loaders]


class OfflineIndexPageView(DefaultJinjaIndexPageView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _templates_first(self.env)


class OfflinePageView(DefaultJinjaPageView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _templates_first(self.env)


def site_config(base_directory: Path) -> dict[str, Any]:
    """The Data Docs site: GX's default builders with the views above."""
    page_view = {"module_name": MODULE, "class_name": OfflinePageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": MODULE, "class_name": OfflineIndexPageView.__name__},
        },
        "site_section_builders": {
            "expectations": {"view": page_view},
            "validations": {"view": page_view},
        },
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(base_directory)},
    }
