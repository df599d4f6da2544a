"""Benchmarks of the customer master at group scale: ``make bench`` (see README.md here).

Not part of the test suite: nothing here is collected by pytest (see ``conftest.py``).
"""
