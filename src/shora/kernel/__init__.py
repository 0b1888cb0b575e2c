"""The kernel: keys, event codec, encrypted store and projection."""
