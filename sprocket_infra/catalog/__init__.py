"""The service catalog: the platform's applications as checked data (``services.yaml``)."""

from sprocket_infra.catalog.load import CATALOG_FILE, CatalogError, load_catalog, parse_catalog
from sprocket_infra.catalog.model import Catalog, ServiceEntry, Vocabulary

__all__ = [
    "CATALOG_FILE",
    "Catalog",
    "CatalogError",
    "ServiceEntry",
    "Vocabulary",
    "load_catalog",
    "parse_catalog",
]
