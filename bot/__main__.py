import gc
import sys

# `serve` starts with the cyclic garbage collector off; `cmd_serve` turns it
# back on once the app is built (see `settle_heap` there for why).
if sys.argv[1:2] == ["serve"]:
    gc.disable()

from bot.cli import main

sys.exit(main())
