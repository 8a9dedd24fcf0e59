"""Files to chunks: loaders, chunking, incremental sync and the ingest report."""
