"""Run nostr-sdk's relay (an independent, Rust implementation with NIP-77) on loopback.

Usage: python nostr_sdk_relay.py PORT — prints its ws:// URL on one line once it
listens, and serves until killed. In memory: a restarted relay starts empty, as a
relay that lost its disk would.
"""

from __future__ import annotations

import asyncio
import sys

import nostr_sdk


async def main(port: int) -> None:
    builder = nostr_sdk.LocalRelayBuilder().addr("127.0.0.1").port(port)
    builder = builder.rate_limit(nostr_sdk.RateLimit(max_reqs=500, notes_per_minute=10_000_000))
    relay = builder.build()
    await relay.run()
    print(f"ws://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
