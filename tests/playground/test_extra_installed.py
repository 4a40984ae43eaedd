"""Says, as a skip with the reason, when the playground's extra dependencies are missing (then the
other playground tests are not collected: see conftest.py)."""

import pytest

from .conftest import MISSING


def test_playground_extra_is_installed():
    if MISSING:
        pytest.skip(f"the playground extra is not installed (missing: {', '.join(MISSING)}); "
                    "pip install 'nabla[playground]' or the test extra")
    import nabla.playground.app  # noqa: F401 - the whole app imports
