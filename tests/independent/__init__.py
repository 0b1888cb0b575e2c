"""An independent verifier of the Shora protocol, written from docs/protocol.md only.

Nothing here imports `shora`, PyNaCl, coincurve or msgspec: every primitive is
pure Python on top of the standard library's hashlib (SHA-256, SHA-512, BLAKE2b),
so a bug in the way shora calls its libraries cannot hide behind the same call here.

- `bip340`     secp256k1 and BIP-340 Schnorr (the envelope signature, write keys)
- `ed25519`    RFC 8032 Ed25519 (member signatures, join requests)
- `aead`       RFC 8439 ChaCha20, Poly1305, and XChaCha20-Poly1305 (HChaCha20)
- `sealedbox`  RFC 7748 X25519, XSalsa20-Poly1305, libsodium's crypto_box_seal_open
- `mpack`      a strict MessagePack decoder and the canonical encoder the spec describes
- `nip01`      NIP-01 id serialisation with its own string escaping
- `protocol`   the spec's formats, built from the above

It is slow and not constant-time: it is for tests only, never for secrets in use.
"""
