"""Fixtures shared across test areas (the Zoho Books sandbox and friends)."""
