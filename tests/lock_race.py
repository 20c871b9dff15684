"""One Rasa-side contender for the lock store race (run by tests/test_scale_out.py in .venv-rasa).

`python lock_race.py PORT CLASS N`: build the lock store CLASS (a module path, as in endpoints.yml)
on Redis at PORT, report ready, wait for the start signal, then take the lock of conversations
race-0 .. race-N-1 all at once; inside each, count whether the other is inside (a Redis counter). Prints the
number of times someone else was inside: 0 when the lock admits one process at a time.
"""
from __future__ import annotations

import asyncio
import sys

import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig


async def contend(store: LockStore, red: redis.Redis, conversations: int) -> int:
    async def turn(number: int) -> bool:
        async with store.lock(f"race-{number}", wait_time_in_seconds=0.005):
            someone_inside = red.incr(f"inside:{number}") != 1
            await asyncio.sleep(0.01)    # a turn takes time (and lets the other turns run)
            red.decr(f"inside:{number}")
            return someone_inside

    # Every conversation at once, as a busy worker sees them; the other process does the same.
    return sum(await asyncio.gather(*(turn(number) for number in range(conversations))))


def main() -> None:
    port, kind, conversations = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = LockStore.create(EndpointConfig(url="127.0.0.1", type=kind, port=port, db=2))
    red = redis.Redis(port=port, db=3)
    red.rpush("ready", 1)
    red.blpop("go")                     # both contenders start at the same instant
    print(asyncio.run(contend(store, red, conversations)))


if __name__ == "__main__":
    main()
