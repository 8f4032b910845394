"""Kernel source for convolution and pooling: the loop nests `_codegen` emits for them.

A convolution is lowered to matrix products (im2col), one sample at a time: generated loops
copy the windows a sample reads into the columns of a `(C*KH*KW, H'*W')` matrix, and
`np.dot` (BLAS) multiplies them by the weights, writing straight into that sample's
`(O, H'*W')` slice of the result. The gradients are the same products transposed: the
weights' gradient accumulates `columns @ dy[n].T` over the samples, the input's gradient
computes `weights.T @ dy[n]` and adds the columns back onto the windows they came from
(col2im). Under `Par` the samples are split into `nchunks` runs, one per thread, each with
its own column buffer (and its own accumulator for the weights' gradient, summed at the
end).

Each thread calls BLAS itself, so BLAS must not start threads of its own: numba's `np.dot`
runs on SciPy's OpenBLAS, a second thread pool beside numpy's, and two pools, or two
callers of one pool, sharing the cores wait for each other's spinning threads, which is
many times slower than one thread per product. OpenBLAS runs a product of at most `SMALL`
multiply-adds on the calling thread, whatever its thread setting, so every product is cut
into pieces of at most `SMALL` along the columns' rows (the contraction of the forward
product, whose pieces are summed; the rows of the other two, which are written apart).
Nothing global changes: numpy's and SciPy's thread settings stay the user's. Pooling is
generated loops.

Stride, padding and window size are literals of the source (part of the kernel's structural
key). A padded input is copied into a zero-bordered buffer first, so that every window lies
inside what the loops read, and the window loops all start at 0: the compiler then knows
that no index is negative, drops numba's wraparound checks and vectorises the copies (the
same holds for indices derived by `//` and `%`, which is why samples and channels are
nested loops, not one flattened loop).

Every function returns the lines of one nest, reading its stored sources by name and
writing `out`; local names end in `_` and the instruction's number `k` (`cols_3`), which no
other name in a kernel does, so nests never collide.
"""

from __future__ import annotations

# Multiply-adds of a product OpenBLAS runs on the calling thread (its
# GEMM_MULTITHREAD_THRESHOLD default times 65536): the most a piece of a product may have.
SMALL = 1 << 18


def conv2d(k: int, x: str, w: str, out: str, dt: str, stride: int, padding: int
           ) -> list[str]:
    """`out (N, O, H', W')`: the cross-correlation of `x (N, C, H, W)` with `w (O, C, KH, KW)`."""
    return [
        f"N_{k}, C_{k}, H_{k}, W_{k} = {x}.shape",
        f"O_{k}, KH_{k}, KW_{k} = {w}.shape[0], {w}.shape[2], {w}.shape[3]",
        f"Ho_{k}, Wo_{k} = {out}.shape[2], {out}.shape[3]",
        *_sizes(k),
        *_padded(k, x, dt, padding),
        *_transposed_weights(k, w),
        f"outf_{k} = {out}.reshape(N_{k}, O_{k}, HW_{k})",
        *_per_sample(k, [f"cols_{k} = np.empty((K_{k}, HW_{k}), {dt})",
                         f"part_{k} = np.empty((O_{k}, HW_{k}), {dt})"], [
            *_im2col(k, f"xp_{k}" if padding else x, stride),
            *_pieces(k, [
                f"if q0_{k} == 0:",
                f"    np.dot(wt_{k}[q0_{k}:q1_{k}].T, cols_{k}[q0_{k}:q1_{k}], outf_{k}[n_{k}])",
                "else:",
                f"    np.dot(wt_{k}[q0_{k}:q1_{k}].T, cols_{k}[q0_{k}:q1_{k}], part_{k})",
                f"    for o_{k} in range(O_{k}):",
                f"        for p_{k} in range(HW_{k}):",
                f"            outf_{k}[n_{k}, o_{k}, p_{k}] += part_{k}[o_{k}, p_{k}]",
            ]),
        ]),
    ]


def conv2d_grad_weight(k: int, x: str, dy: str, out: str, dt: str, stride: int,
                       padding: int) -> list[str]:
    """`out (O, C, KH, KW)`: the sum over samples and positions of `dy` times the window."""
    return [
        f"N_{k}, C_{k}, H_{k}, W_{k} = {x}.shape",
        f"O_{k}, KH_{k}, KW_{k} = {out}.shape[0], {out}.shape[2], {out}.shape[3]",
        f"Ho_{k}, Wo_{k} = {dy}.shape[2], {dy}.shape[3]",
        *_sizes(k),
        *_padded(k, x, dt, padding),
        f"dyf_{k} = np.ascontiguousarray({dy}).reshape(N_{k}, O_{k}, HW_{k})",
        f"acc_{k} = np.zeros((nchunks, K_{k}, O_{k}), {dt})",
        *_per_sample(k, [f"cols_{k} = np.empty((K_{k}, HW_{k}), {dt})",
                         f"part_{k} = np.empty((KC_{k}, O_{k}), {dt})"], [
            *_im2col(k, f"xp_{k}" if padding else x, stride),
            *_pieces(k, [
                f"np.dot(cols_{k}[q0_{k}:q1_{k}], dyf_{k}[n_{k}].T, part_{k}[:q1_{k} - q0_{k}])",
                f"for r_{k} in range(q1_{k} - q0_{k}):",
                f"    for o_{k} in range(O_{k}):",
                f"        acc_{k}[t_{k}, q0_{k} + r_{k}, o_{k}] += part_{k}[r_{k}, o_{k}]",
            ]),
        ]),
        f"for o_{k} in range(O_{k}):",
        f"    for r_{k} in range(K_{k}):",
        f"        s_{k} = acc_{k}[0, r_{k}, o_{k}]",
        f"        for u_{k} in range(1, nchunks):",
        f"            s_{k} += acc_{k}[u_{k}, r_{k}, o_{k}]",
        f"        {out}[o_{k}, r_{k} // (KH_{k} * KW_{k}), (r_{k} // KW_{k}) % KH_{k}, "
        f"r_{k} % KW_{k}] = s_{k}",
    ]


def conv2d_grad_input(k: int, dy: str, w: str, out: str, dt: str, stride: int,
                      padding: int) -> list[str]:
    """`out (N, C, H, W)`: each output's gradient spread back over its window (col2im), into
    a padded buffer first when there is padding."""
    p = padding
    dx = f"dxp_{k}" if p else out
    at = f"{_at('i', k, stride, 'a')}, {_at('j', k, stride, 'b')}"
    return [
        f"N_{k}, O_{k}, Ho_{k}, Wo_{k} = {dy}.shape",
        f"C_{k}, KH_{k}, KW_{k} = {w}.shape[1], {w}.shape[2], {w}.shape[3]",
        f"H_{k}, W_{k} = {out}.shape[2], {out}.shape[3]",
        *_sizes(k),
        *([f"{dx} = np.empty((N_{k}, C_{k}, H_{k} + {2 * p}, W_{k} + {2 * p}), {dt})"]
          if p else []),
        *_transposed_weights(k, w),
        f"dyf_{k} = np.ascontiguousarray({dy}).reshape(N_{k}, O_{k}, HW_{k})",
        *_per_sample(k, [f"cols_{k} = np.empty((K_{k}, HW_{k}), {dt})"], [
            *_pieces(k, [
                f"np.dot(wt_{k}[q0_{k}:q1_{k}], dyf_{k}[n_{k}], cols_{k}[q0_{k}:q1_{k}])"]),
            f"for c_{k} in range(C_{k}):",
            f"    for h_{k} in range({dx}.shape[2]):",
            f"        for w_{k} in range({dx}.shape[3]):",
            f"            {dx}[n_{k}, c_{k}, h_{k}, w_{k}] = 0",
            f"for c_{k} in range(C_{k}):",
            *("    " + line for line in _window_loops(
                k, [f"{dx}[n_{k}, c_{k}, {at}] += cols_{k}[r_{k}, i_{k} * Wo_{k} + j_{k}]"])),
        ]),
        *(_planes(k, "N", "C", "H", "W", f"{out}[n_{k}, c_{k}, h_{k}, w_{k}] = "
                  f"{dx}[n_{k}, c_{k}, h_{k} + {p}, w_{k} + {p}]") if p else []),
    ]


def avg_pool2d(k: int, x: str, out: str, dt: str, size: int) -> list[str]:
    """`out (N, C, H // size, W // size)`: the mean of each `size x size` window."""
    return [
        f"for n_{k} in prange({x}.shape[0]):",
        f"    for c_{k} in range({x}.shape[1]):",
        f"        for i_{k} in range({out}.shape[2]):",
        f"            for j_{k} in range({out}.shape[3]):",
        f"                s_{k} = {dt}(0.0)",
        f"                for a_{k} in range({size}):",
        f"                    for b_{k} in range({size}):",
        f"                        s_{k} += {x}[n_{k}, c_{k}, i_{k} * {size} + a_{k}, "
        f"j_{k} * {size} + b_{k}]",
        f"                {out}[n_{k}, c_{k}, i_{k}, j_{k}] = s_{k} / {dt}({size * size})",
    ]


def avg_pool2d_grad(k: int, dy: str, out: str, dt: str, size: int) -> list[str]:
    """`out (N, C, H, W)`: each window's gradient shared by its inputs; 0 past the windows."""
    return [
        f"Ho_{k}, Wo_{k} = {dy}.shape[2], {dy}.shape[3]",
        f"for n_{k} in prange({dy}.shape[0]):",
        f"    for c_{k} in range({dy}.shape[1]):",
        f"        for h_{k} in range({out}.shape[2]):",
        f"            i_{k} = h_{k} // {size}",
        f"            for w_{k} in range({out}.shape[3]):",
        f"                j_{k} = w_{k} // {size}",
        f"                if i_{k} < Ho_{k} and j_{k} < Wo_{k}:",
        f"                    {out}[n_{k}, c_{k}, h_{k}, w_{k}] = {dy}[n_{k}, c_{k}, i_{k}, j_{k}]"
        f" / {dt}({size * size})",
        "                else:",
        f"                    {out}[n_{k}, c_{k}, h_{k}, w_{k}] = {dt}(0.0)",
    ]


def max_pool2d(k: int, x: str, out: str, size: int) -> list[str]:
    """`out (N, C, H // size, W // size)`: the largest value of each window, NaN if any is
    (once the running value is NaN, nothing is larger and it stays)."""
    return [
        f"for n_{k} in prange({x}.shape[0]):",
        f"    for c_{k} in range({x}.shape[1]):",
        f"        for i_{k} in range({out}.shape[2]):",
        f"            for j_{k} in range({out}.shape[3]):",
        f"                m_{k} = {x}[n_{k}, c_{k}, i_{k} * {size}, j_{k} * {size}]",
        f"                for a_{k} in range({size}):",
        f"                    for b_{k} in range({size}):",
        f"                        v_{k} = {x}[n_{k}, c_{k}, i_{k} * {size} + a_{k}, "
        f"j_{k} * {size} + b_{k}]",
        f"                        if v_{k} > m_{k} or v_{k} != v_{k}:",
        f"                            m_{k} = v_{k}",
        f"                {out}[n_{k}, c_{k}, i_{k}, j_{k}] = m_{k}",
    ]


def max_pool2d_grad(k: int, x: str, dy: str, out: str, dt: str, size: int) -> list[str]:
    """`out (N, C, H, W)`: each window's gradient to its first NaN, else its first largest
    value in row-major order (the reference's rule); 0 everywhere else."""
    return [
        f"for n_{k} in prange({x}.shape[0]):",
        f"    for c_{k} in range({x}.shape[1]):",
        f"        {out}[n_{k}, c_{k}] = {dt}(0.0)",
        f"        for i_{k} in range({dy}.shape[2]):",
        f"            for j_{k} in range({dy}.shape[3]):",
        f"                h_{k}, w_{k} = i_{k} * {size}, j_{k} * {size}",
        f"                m_{k} = {x}[n_{k}, c_{k}, h_{k}, w_{k}]",
        f"                for a_{k} in range({size}):",
        f"                    for b_{k} in range({size}):",
        f"                        v_{k} = {x}[n_{k}, c_{k}, i_{k} * {size} + a_{k}, "
        f"j_{k} * {size} + b_{k}]",
        f"                        if m_{k} == m_{k} and (v_{k} > m_{k} or v_{k} != v_{k}):",
        f"                            m_{k} = v_{k}",
        f"                            h_{k} = i_{k} * {size} + a_{k}",
        f"                            w_{k} = j_{k} * {size} + b_{k}",
        f"                {out}[n_{k}, c_{k}, h_{k}, w_{k}] = {dy}[n_{k}, c_{k}, i_{k}, j_{k}]",
    ]


def _sizes(k: int) -> list[str]:
    """The columns' row count `K` and row length `HW`, and `KC`, the columns' rows of one
    piece of a product (at most `SMALL` multiply-adds, see the module docstring)."""
    return [f"K_{k} = C_{k} * KH_{k} * KW_{k}", f"HW_{k} = Ho_{k} * Wo_{k}",
            f"KC_{k} = max(1, {SMALL} // max(1, O_{k} * HW_{k}))"]


def _transposed_weights(k: int, w: str) -> list[str]:
    """`wt (C*KH*KW, O)`: the weights as columns, so that a piece of rows is contiguous."""
    return [f"wt_{k} = np.ascontiguousarray(np.ascontiguousarray({w}).reshape(O_{k}, K_{k}).T)"]


def _per_sample(k: int, setup: list[str], body: list[str]) -> list[str]:
    """`body` for every sample `n`, the samples split into `nchunks` runs over the threads
    (`t` the run), each run with the buffers `setup` allocates."""
    return [f"for t_{k} in prange(nchunks):",
            f"    lo_{k}, hi_{k} = t_{k} * N_{k} // nchunks, (t_{k} + 1) * N_{k} // nchunks",
            *("    " + line for line in setup),
            f"    for n_{k} in range(lo_{k}, hi_{k}):",
            *("        " + line for line in body)]


def _pieces(k: int, body: list[str]) -> list[str]:
    """`body` for every piece `q0:q1` of the columns' rows (see the module docstring)."""
    return [f"for q0_{k} in range(0, K_{k}, KC_{k}):",
            f"    q1_{k} = min(K_{k}, q0_{k} + KC_{k})",
            *("    " + line for line in body)]


def _padded(k: int, x: str, dt: str, p: int) -> list[str]:
    """`xp`: `x` with `p` zeros on every side, so that every window lies inside it."""
    if not p:
        return []
    return [f"xp_{k} = np.zeros((N_{k}, C_{k}, H_{k} + {2 * p}, W_{k} + {2 * p}), {dt})",
            *_planes(k, "N", "C", "H", "W", f"xp_{k}[n_{k}, c_{k}, h_{k} + {p}, w_{k} + {p}] = "
                     f"{x}[n_{k}, c_{k}, h_{k}, w_{k}]")]


def _planes(k: int, n: str, c: str, h: str, w: str, line: str) -> list[str]:
    """`line` for every `n, c, h, w` below the sizes named (explicit loops: numba's parallel
    analysis fails on some slice assignments inside `prange`)."""
    return [f"for n_{k} in prange({n}_{k}):", f"    for c_{k} in range({c}_{k}):",
            f"        for h_{k} in range({h}_{k}):", f"            for w_{k} in range({w}_{k}):",
            f"                {line}"]


def _at(axis: str, k: int, s: int, tap: str) -> str:
    """The (padded) input coordinate an output coordinate reads at a window tap."""
    return f"{axis}_{k} * {s} + {tap}_{k}" if s > 1 else f"{axis}_{k} + {tap}_{k}"


def _window_loops(k: int, body: list[str]) -> list[str]:
    """Loops over the window taps `a, b` (row `r` of the columns) and the output positions
    `i, j`, all from 0 (see the module docstring)."""
    return [
        f"for a_{k} in range(KH_{k}):",
        f"    for b_{k} in range(KW_{k}):",
        f"        r_{k} = (c_{k} * KH_{k} + a_{k}) * KW_{k} + b_{k}",
        f"        for i_{k} in range(Ho_{k}):",
        f"            for j_{k} in range(Wo_{k}):",
        *("                " + line for line in body),
    ]


def _im2col(k: int, x: str, s: int) -> list[str]:
    """The columns of sample `n`: row `r` (tap `(a, b)` of channel `c`), column `i*W'+j`
    (output `(i, j)`) = the (padded) input that tap reads for that output."""
    return [f"for c_{k} in range(C_{k}):", *("    " + line for line in _window_loops(k, [
        f"cols_{k}[r_{k}, i_{k} * Wo_{k} + j_{k}] = {x}[n_{k}, c_{k}, {_at('i', k, s, 'a')}, "
        f"{_at('j', k, s, 'b')}]"]))]
