"""Tests for nabla.nn: layers, initialisers and functional ops against PyTorch (see helpers.py)."""
