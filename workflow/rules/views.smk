# views stage rules (see docs/ARCHITECTURE.md)
