# ingest stage rules (see docs/ARCHITECTURE.md)
