"""PyTorch as the test oracle: every op's values and gradients against torch's (see helpers.check).

Run: ``PYTHONPATH=src python -m pytest -n 2 tests/oracle -q``
"""
