"""The store: migrations, layer cache, SBOM round trip."""

from __future__ import annotations

import os

from alembic.config import Config
from alembic.script import ScriptDirectory

from hullcheck.api import generate_sbom, open_store
from hullcheck.store.database import MIGRATIONS
from hullcheck.store.models import SCHEMA_REVISION
from tests.infra.layouts import oci_layout, tar_bytes

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")


def test_schema_revision_is_the_alembic_head() -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_new_store_is_migrated_in_the_data_dir(hc_home: str) -> None:
    store = open_store()
    assert store.revision() == SCHEMA_REVISION
    assert os.path.exists(os.path.join(hc_home, "data", "hullcheck.db"))
    store.close()


def test_sbom_and_layers_are_kept(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with open(os.path.join(FIXTURES, "apk", "alpine-3.16_lib_apk_db_installed"), "rb") as f:
        layer = tar_bytes(("file", "lib/apk/db/installed", f.read()))
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    sbom = generate_sbom(f"oci-dir:{oci_layout(str(tmp_path / 'img'), [layer])}", store=store)
    assert sbom.image is not None
    assert store.layer_count() == 1
    loaded = store.load_sbom(sbom.image.id)
    assert loaded is not None and loaded.packages == sbom.packages
    reopened = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert reopened.image_ids() == [sbom.image.id]
    store.close()
    reopened.close()
