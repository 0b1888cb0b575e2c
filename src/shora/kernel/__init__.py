"""The kernel: keys, event codec, encrypted store and projection."""

from shora import load_msgspec

load_msgspec()  # without typing_extensions, if nothing imported msgspec before

import msgspec  # noqa: E402

# What a msgspec decoder can raise on hostile bytes: schema and syntax errors, and
# invalid UTF-8 inside a string, which msgspec reports as UnicodeDecodeError.
DECODE_ERRORS: tuple[type[Exception], ...] = (msgspec.DecodeError, UnicodeDecodeError)
