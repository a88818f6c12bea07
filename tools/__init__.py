"""Development tools, outside the library: what run.sh asks before it runs (`runargs`), the
config keys that rerun no rule by themselves (`params_scope`, read by the tests) and a tiny
planted-signal video store for tests and benchmarks (`toy`). No rule imports them."""
