"""Batch reading: many files, folders, globs and ZIPs, read by worker processes or a Dask cluster."""
