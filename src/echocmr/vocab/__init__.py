"""The study's vocabulary, the ground floor every stage may import: views (`views`), tasks
(`tasks`), AHA segments (`segments`), the QC table (`qc`), why a metric is n/a (`reasons`) and
the fusion labels (`fusion`). Plain data and small functions; imports nothing of echocmr."""
