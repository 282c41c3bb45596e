"""Hostile-input and fault sweep (issue 20): one case per item of the issue."""
