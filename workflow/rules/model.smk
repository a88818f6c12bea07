# model stage rules (see docs/ARCHITECTURE.md)
