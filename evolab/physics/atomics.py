"""An atomic counter for compiled kernels: threads of one parallel region claim work items from it, so a
thread slowed by anything else on its core (the storage writer, another process) simply claims fewer."""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def fetch_add(typingctx, counter, value):
    """Atomically add `value` to `counter[0]` (an int64 array) and return the value before the add."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and isinstance(value, types.Integer)):
        return None
    sig = types.int64(counter, types.int64)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        first = cgutils.get_item_pointer(context, builder, array_type, array, [context.get_constant(types.intp, 0)])
        # monotonic: only the counter itself must be atomic; each claimed item's data is written by one thread
        return builder.atomic_rmw("add", first, args[1], "monotonic")

    return sig, codegen
