"""ooc: the out-of-court disposal workflow engine (framework-free: no web imports here)."""
