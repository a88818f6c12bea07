"""Crop (rule crop, docs/crop.md): one video's box, mask, colour handling and DCT scale (`plan`,
`mask`), and one shard written to the frame store with AVIs and QC rows (`shard`)."""
