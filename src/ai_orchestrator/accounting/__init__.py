"""Accounting: usage normalisation, pricing (genai-prices), budgets and savings.

Import-light on purpose: submodules load heavy dependencies (genai-prices) lazily, inside
the functions that need them, so importing this package costs nothing.
"""
