# audit stage rules (see docs/ARCHITECTURE.md)
