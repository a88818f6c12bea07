# cohort stage rules (see docs/ARCHITECTURE.md)
