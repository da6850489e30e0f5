"""Embedded assets: registry packages in the cache, and the converted multilingual-e5-small."""
