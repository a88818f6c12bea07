"""De-identification (rule deidentify, docs/ingest.md): the header (`header`), the pixels kept
and blanked (`keep_area`, `burned_text`, `jpeg_blank`, `pixels`) and one shard of files
(`deidentify`)."""
