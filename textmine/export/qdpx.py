"""REFI-QDA (.qdpx) export and import: ``write_qdpx(store, path)``, ``read_qdpx_codings(path)``."""
from .qdpx_export import build_project, source_text, write_qdpx
from .qdpx_import import CODED_COLUMNS, import_summary, load_mapping, read_qdpx_codings, require_codings

__all__ = ["write_qdpx", "read_qdpx_codings", "load_mapping", "build_project", "source_text", "CODED_COLUMNS",
           "import_summary", "require_codings"]
