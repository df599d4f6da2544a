"""The accounts app's web screens (mounted at /accounts/)."""
