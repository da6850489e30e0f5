"""Curated data: the split store, subsampling, manifests, leakage audit and domain profile."""
