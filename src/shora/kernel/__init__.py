"""The kernel: keys, event codec, encrypted store and projection."""

import msgspec

# What a msgspec decoder can raise on hostile bytes: schema and syntax errors, and
# invalid UTF-8 inside a string, which msgspec reports as UnicodeDecodeError.
DECODE_ERRORS: tuple[type[Exception], ...] = (msgspec.DecodeError, UnicodeDecodeError)
